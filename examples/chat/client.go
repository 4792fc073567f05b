package main

import (
	"context"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/httpauth"
)

const (
	// writeWait bounds each write to a client.
	writeWait = 10 * time.Second
	// pongWait is how long a client may stay silent, pongs included.
	pongWait = 60 * time.Second
	// pingPeriod is how often the server pings; less than pongWait.
	pingPeriod = pongWait * 9 / 10
	// maxMessageSize caps a message from a client, in bytes.
	maxMessageSize = 4096
	// sendBuffer is how many messages may wait for a slow client.
	sendBuffer = 32
)

// client is one member's connection. Only writeLoop writes to conn,
// because a gorilla connection allows one writer at a time.
type client struct {
	nick string
	conn *websocket.Conn
	send chan string
}

// serveClient runs a member's connection: gorilla.Handler calls it once
// certgate has admitted the client and the upgrade is done, so id holds a
// verified certificate. When that certificate expires, certgate closes
// the connection with status 1008, which ends the read loop below.
func (h *hub) serveClient(_ context.Context, conn *websocket.Conn, id *httpauth.Identity) {
	defer conn.Close()
	nick, ok := id.CommonName()
	if !ok { // no single common name to go by: use the fingerprint
		nick = "sha256:" + id.Fingerprint[:16]
	}
	c := &client{nick: nick, conn: conn, send: make(chan string, sendBuffer)}
	written := make(chan struct{})
	go func() {
		defer close(written)
		c.writeLoop()
	}()

	h.join(c)
	c.readLoop(h)
	h.leave(c)
	<-written
}

// readLoop passes what the member says to the hub until the connection
// ends.
func (c *client) readLoop(h *hub) {
	c.conn.SetReadLimit(maxMessageSize)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		h.broadcast(c.nick + ": " + string(msg))
	}
}

// writeLoop sends the member its messages, and pings, until the hub
// closes c.send. A failed write closes the connection, which ends
// readLoop; until then the loop drains c.send.
func (c *client) writeLoop() {
	ticker := time.NewTicker(pingPeriod)
	defer ticker.Stop()
	for {
		select {
		case msg, ok := <-c.send:
			if !ok {
				return
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				c.conn.Close()
			}
		case <-ticker.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.conn.Close()
			}
		}
	}
}
