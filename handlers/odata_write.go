package handlers

import "phaseboard/web/odata"

// odataWriters returns the write side of the OData entity sets, by set name. Sets without a
// writer answer 405 to POST, PATCH, PUT and DELETE.
func (h *Handler) odataWriters() map[string]odata.Writer {
	return map[string]odata.Writer{}
}
