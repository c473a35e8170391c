package handlers

// FailRefresh makes h fail to show every committed change from now on (tests of what a user is
// told when a write committed but its answer could not be rendered).
func FailRefresh(h *Handler, err error) { h.failRefresh = err }

// DropStreams ends the live pages' open streams as a network drop would (they reconnect).
func DropStreams(h *Handler) { h.dropStreams() }
