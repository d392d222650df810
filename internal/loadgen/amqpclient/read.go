package amqpclient

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// Method ids the reader handles itself, as class<<16 | method.
const (
	idConnectionClose   = uint32(wire.ClassConnection)<<16 | 50
	idConnectionCloseOK = uint32(wire.ClassConnection)<<16 | 51
	idConnectionBlocked = uint32(wire.ClassConnection)<<16 | 60
	idConnectionUnblock = uint32(wire.ClassConnection)<<16 | 61
	idChannelClose      = uint32(wire.ClassChannel)<<16 | 40
	idBasicDeliver      = uint32(wire.ClassBasic)<<16 | 60
	idBasicAck          = uint32(wire.ClassBasic)<<16 | 80
	idBasicNack         = uint32(wire.ClassBasic)<<16 | 120
)

// delivery is the message being assembled from its frames.
type delivery struct {
	tag      uint64
	size     uint64 // body size from the content header
	headerOK bool
	body     []byte // the body so far, when it spans frames
}

// read is the connection's reading goroutine: it decodes every frame and
// hands confirms and deliveries to their handlers, answers to call.
func (c *Conn) read() {
	defer close(c.readDone)
	var frameBuf []byte
	var d delivery
	var inDelivery bool
	for {
		f, err := wire.ReadFrameInto(c.r, c.frameMax, frameBuf)
		if err != nil {
			c.fail(fmt.Errorf("reading from the broker: %w", err))
			return
		}
		if cap(f.Payload) > cap(frameBuf) {
			frameBuf = f.Payload[:cap(f.Payload)]
		}
		switch f.Type {
		case wire.FrameHeartbeat:
			continue
		case wire.FrameMethod:
			if inDelivery {
				c.fail(errors.New("a method frame interrupted a delivery's content"))
				return
			}
			d = delivery{body: d.body[:0]}
			inDelivery, err = c.method(f.Payload, &d)
		case wire.FrameHeader, wire.FrameBody:
			if !inDelivery {
				err = errors.New("content outside a delivery")
				break
			}
			var body []byte
			if body, err = d.add(f.Type, f.Payload); err == nil && body != nil {
				c.onDeliver(d.tag, body)
				inDelivery = false
			}
		}
		if err != nil {
			c.fail(err)
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// method handles one method frame; when it is basic.deliver, it fills in d
// and reports that a delivery has begun.
func (c *Conn) method(payload []byte, d *delivery) (bool, error) {
	class, method, args, err := wire.SplitMethodPayload(payload)
	if err != nil {
		return false, err
	}
	switch uint32(class)<<16 | uint32(method) {
	case idBasicDeliver:
		if c.onDeliver == nil {
			return false, errors.New("basic.deliver without a consumer")
		}
		tag, err := deliveryTag(args)
		d.tag = tag
		return err == nil, err
	case idBasicAck:
		if c.onConfirm == nil {
			return false, errors.New("basic.ack without confirms selected")
		}
		if err := c.inAck.DecodeArgs(args); err != nil {
			return false, err
		}
		c.onConfirm(c.inAck.DeliveryTag, c.inAck.Multiple, true)
		return false, nil
	case idBasicNack:
		if c.onConfirm == nil {
			return false, errors.New("basic.nack without confirms selected")
		}
		if err := c.inNack.DecodeArgs(args); err != nil {
			return false, err
		}
		c.onConfirm(c.inNack.DeliveryTag, c.inNack.Multiple, false)
		return false, nil
	case idConnectionBlocked, idConnectionUnblock:
		// Publishes wait in the socket while the broker is blocked.
		return false, nil
	case idChannelClose, idConnectionClose:
		m, err := wire.DecodeMethod(class, method, args)
		if err != nil {
			return false, err
		}
		if cc, ok := m.(*wire.ConnectionClose); ok {
			_ = c.send(&wire.ConnectionCloseOK{}, 0)
			return false, closeError("connection", cc.ReplyCode, cc.ReplyText)
		}
		cc := m.(*wire.ChannelClose)
		return false, closeError("channel", cc.ReplyCode, cc.ReplyText)
	case idConnectionCloseOK:
		return false, ErrClosed
	}
	m, err := wire.DecodeMethod(class, method, args)
	if err != nil {
		return false, err
	}
	select {
	case c.replies <- m:
		return false, nil
	default:
		return false, fmt.Errorf("unexpected %s from the broker", m.Name())
	}
}

// deliveryTag reads basic.deliver's delivery-tag, which follows the
// consumer tag; the rest (redelivered, exchange, routing key) the load
// generator does not use, so it is not decoded.
func deliveryTag(args []byte) (uint64, error) {
	if len(args) < 1 || len(args) < 1+int(args[0])+8 {
		return 0, errors.New("basic.deliver: arguments truncated")
	}
	return binary.BigEndian.Uint64(args[1+int(args[0]):]), nil
}

// add takes the content header or a body frame of d and returns the whole
// body once it is complete. A body of one frame is returned in place,
// without a copy: it is valid until the next frame is read.
func (d *delivery) add(frameType uint8, payload []byte) ([]byte, error) {
	if frameType == wire.FrameHeader {
		if d.headerOK {
			return nil, errors.New("a second content header in one delivery")
		}
		// class-id, weight, body-size, then properties the load generator
		// does not read.
		if len(payload) < 14 {
			return nil, errors.New("content header truncated")
		}
		if class := binary.BigEndian.Uint16(payload); class != wire.ClassBasic {
			return nil, fmt.Errorf("content header of class %d", class)
		}
		d.size, d.headerOK = binary.BigEndian.Uint64(payload[4:]), true
		if d.size == 0 {
			return []byte{}, nil
		}
		return nil, nil
	}
	if !d.headerOK {
		return nil, errors.New("a body frame before the content header")
	}
	if len(d.body) == 0 && uint64(len(payload)) == d.size {
		return payload, nil
	}
	d.body = append(d.body, payload...)
	switch got := uint64(len(d.body)); {
	case got == d.size:
		return d.body, nil
	case got > d.size:
		return nil, fmt.Errorf("body of %d bytes for a content header of %d", got, d.size)
	}
	return nil, nil
}
