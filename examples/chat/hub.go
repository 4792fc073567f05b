package main

import (
	"log"
	"sync"
)

// hub is the room: it holds the connected clients and passes every
// message to all of them.
type hub struct {
	mu      sync.Mutex
	clients map[*client]struct{}
}

func newHub() *hub {
	return &hub{clients: map[*client]struct{}{}}
}

func (h *hub) join(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	log.Printf("%s joined, %d members", c.nick, len(h.clients))
	h.broadcastLocked("* " + c.nick + " joined")
}

// leave removes c and closes its send channel, which ends its write loop.
func (h *hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	close(c.send)
	log.Printf("%s left, %d members", c.nick, len(h.clients))
	h.broadcastLocked("* " + c.nick + " left")
}

func (h *hub) broadcast(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcastLocked(msg)
}

// broadcastLocked queues msg for every client. A client whose queue is
// full is disconnected rather than allowed to slow down the room.
func (h *hub) broadcastLocked(msg string) {
	for c := range h.clients {
		select {
		case c.send <- msg:
		default:
			log.Printf("disconnecting %s: too slow", c.nick)
			c.conn.Close()
		}
	}
}
