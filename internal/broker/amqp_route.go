package broker

// RouteTargets returns the streams a publish to exchange with routingKey
// and headers would reach, without publishing anything ("" is the default
// exchange). The AMQP front-end uses it to pace publishers by the backlog of
// the queues they feed.
func (b *Broker) RouteTargets(exchange, routingKey string, headers []Header) []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if exchange == "" {
		if _, ok := b.streams[routingKey]; ok {
			return []string{routingKey}
		}
		return nil
	}
	return b.routes.Route(exchange, routingKey, toRoutingHeaders(headers), nil)
}
