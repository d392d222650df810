package amqpclient

import (
	"errors"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// ConfirmSelect puts the channel in confirm mode; Options.OnConfirm hears
// the confirms.
func (c *Conn) ConfirmSelect() error {
	if c.onConfirm == nil {
		return errors.New("amqpclient: ConfirmSelect without Options.OnConfirm")
	}
	_, err := c.call(&wire.ConfirmSelect{}, &wire.ConfirmSelectOK{})
	return err
}

// Qos sets the channel's prefetch count (basic.qos, global false).
func (c *Conn) Qos(prefetch int) error {
	if prefetch < 0 || prefetch > 0xFFFF {
		return errors.New("amqpclient: prefetch outside 0..65535")
	}
	_, err := c.call(&wire.BasicQos{PrefetchCount: uint16(prefetch)}, &wire.BasicQosOK{})
	return err
}

// Consume subscribes to queue with manual acks and returns the consumer tag
// the broker chose; Options.OnDeliver receives the deliveries.
func (c *Conn) Consume(queue string) (string, error) {
	if c.onDeliver == nil {
		return "", errors.New("amqpclient: Consume without Options.OnDeliver")
	}
	ok, err := c.call(&wire.BasicConsume{Queue: queue}, &wire.BasicConsumeOK{})
	if err != nil {
		return "", err
	}
	return ok.(*wire.BasicConsumeOK).ConsumerTag, nil
}

// Message is what Publish sends: the routing and the properties the load
// generator sets.
type Message struct {
	Exchange, RoutingKey string
	ContentType          string
	Persistent           bool
	Body                 []byte
}

// Publish sends basic.publish, its content header and its body frames in
// one write. The body may be reused once Publish returns.
func (c *Conn) Publish(m Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// The method and header live in the Conn, so a publish allocates nothing.
	c.publish = wire.BasicPublish{Exchange: m.Exchange, RoutingKey: m.RoutingKey}
	c.header = wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: uint64(len(m.Body)),
		Properties: wire.Properties{ContentType: m.ContentType}}
	if m.Persistent {
		c.header.Properties.DeliveryMode = 2
	}
	buf, err := wire.AppendMethodFrame(c.scratch[:0], channelID, &c.publish)
	if err == nil {
		buf, err = wire.AppendContentHeaderFrame(buf, channelID, &c.header)
	}
	if err != nil {
		return err
	}
	c.scratch = wire.AppendBodyFrames(buf, channelID, m.Body, c.frameMax)
	return c.write(c.scratch)
}

// Ack acknowledges the delivery tag, and every one before it when multiple.
func (c *Conn) Ack(tag uint64, multiple bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ack = wire.BasicAck{DeliveryTag: tag, Multiple: multiple}
	buf, err := wire.AppendMethodFrame(c.scratch[:0], channelID, &c.ack)
	if err != nil {
		return err
	}
	c.scratch = buf
	return c.write(buf)
}

// write sends b, already under wmu; a connection that has ended answers
// with the error that ended it.
func (c *Conn) write(b []byte) error {
	if err := c.Err(); err != nil {
		return err
	}
	if _, err := c.nc.Write(b); err != nil {
		c.fail(err)
		return err
	}
	return nil
}
