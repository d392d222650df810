package amqp

import (
	"bytes"
	"strings"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// serverProperties are sent in connection.start. Clients read the
// capabilities to decide which extensions to use; they are RabbitMQ 3.x's.
func serverProperties() wire.Table {
	return wire.Table{
		"product":      "Gannet",
		"version":      "3.13.0",
		"platform":     "Go",
		"copyright":    "Gannet authors",
		"information":  "Gannet: one durable broker for AMQP 0-9-1, Kafka, Redis Streams and SQS",
		"cluster_name": "gannet",
		"capabilities": wire.Table{
			"publisher_confirms":           true,
			"exchange_exchange_bindings":   true,
			"basic.nack":                   true,
			"consumer_cancel_notify":       true,
			"connection.blocked":           true,
			"consumer_priorities":          false,
			"authentication_failure_close": true,
			"per_consumer_qos":             true,
			"direct_reply_to":              true,
		},
	}
}

// handshake runs connection.start to connection.open-ok.
func (c *conn) handshake() error {
	if err := c.send(0, &wire.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: serverProperties(),
		Mechanisms:       "PLAIN AMQPLAIN",
		Locales:          "en_US",
	}); err != nil {
		return err
	}
	startOK, ok := c.readHandshakeMethod().(*wire.ConnectionStartOK)
	if !ok {
		return newError(wire.ReplyCommandInvalid, "expected connection.start-ok")
	}
	if caps, ok := startOK.ClientProperties["capabilities"].(wire.Table); ok {
		c.caps = caps
	}
	user, pass, err := parseCredentials(startOK.Mechanism, startOK.Response)
	if err != nil {
		return err
	}
	if want, ok := c.s.cfg.Users[user]; !ok || want != pass {
		return newError(wire.ReplyAccessRefused,
			"Login was refused using authentication mechanism %s. For details see the broker logfile.", startOK.Mechanism)
	}
	hb := uint16(c.s.cfg.Heartbeat / time.Second)
	if err := c.send(0, &wire.ConnectionTune{ChannelMax: c.s.cfg.ChannelMax, FrameMax: c.s.cfg.FrameMax, Heartbeat: hb}); err != nil {
		return err
	}
	tuneOK, ok := c.readHandshakeMethod().(*wire.ConnectionTuneOK)
	if !ok {
		return newError(wire.ReplyCommandInvalid, "expected connection.tune-ok")
	}
	if tuneOK.FrameMax != 0 {
		if tuneOK.FrameMax < wire.FrameMinSize {
			return newError(wire.ReplyNotAllowed, "frame_max=%d < %d min size", tuneOK.FrameMax, wire.FrameMinSize)
		}
		if tuneOK.FrameMax > c.s.cfg.FrameMax {
			return newError(wire.ReplyNotAllowed, "frame_max=%d > %d max size", tuneOK.FrameMax, c.s.cfg.FrameMax)
		}
		c.frameMax = tuneOK.FrameMax
	}
	if tuneOK.ChannelMax != 0 && tuneOK.ChannelMax < c.channelMax {
		c.channelMax = tuneOK.ChannelMax
	}
	c.heartbeat = time.Duration(tuneOK.Heartbeat) * time.Second
	open, ok := c.readHandshakeMethod().(*wire.ConnectionOpen)
	if !ok {
		return newError(wire.ReplyCommandInvalid, "expected connection.open")
	}
	if open.VirtualHost != "/" && open.VirtualHost != "" {
		return newError(wire.ReplyNotAllowed, "vhost '%s' not found", open.VirtualHost)
	}
	return c.send(0, &wire.ConnectionOpenOK{})
}

// readHandshakeMethod reads the next method on channel 0; it returns nil on
// anything else, which the caller reports as the method it expected.
func (c *conn) readHandshakeMethod() wire.Method {
	for {
		f, err := wire.ReadFrame(c.r, wire.FrameMinSize)
		if err != nil {
			return nil
		}
		if f.Type == wire.FrameHeartbeat {
			continue
		}
		if f.Type != wire.FrameMethod || f.Channel != 0 {
			return nil
		}
		m, err := wire.ParseMethodFrame(f.Payload)
		if err != nil {
			return nil
		}
		return m
	}
}

// parseCredentials reads a PLAIN ("\0user\0password") or AMQPLAIN (a field
// table without its length prefix) response.
func parseCredentials(mechanism, response string) (user, pass string, err error) {
	switch mechanism {
	case "PLAIN":
		parts := strings.Split(response, "\x00")
		if len(parts) != 3 {
			return "", "", newError(wire.ReplyAccessRefused, "malformed PLAIN response")
		}
		return parts[1], parts[2], nil
	case "AMQPLAIN":
		var framed bytes.Buffer
		n := len(response)
		framed.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		framed.WriteString(response)
		t, err := wire.DecodeTable(framed.Bytes())
		if err != nil {
			return "", "", newError(wire.ReplyAccessRefused, "malformed AMQPLAIN response")
		}
		user, _ = t["LOGIN"].(string)
		pass, _ = t["PASSWORD"].(string)
		return user, pass, nil
	}
	return "", "", newError(wire.ReplyCommandInvalid, "unknown authentication mechanism '%s'", mechanism)
}
