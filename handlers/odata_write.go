package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/odata"
)

// OData writes. The body is decoded by the odata package from the model (odata_model.go) into
// the set's models changes struct; every write then goes through the Store, the one home of the
// domain rules, as the caller (web.CurrentActor: the API client's or the user's role and
// employee), in one transaction: an error writes nothing.
//
// Conventions (Tribe's, as in the phases seed):
//   - POST creates (201 + Location). A POST whose body carries the ID of an existing entity
//     updates it (PATCH semantics, 200); an ID that does not exist is a 404 (leave ID out to
//     create). A POST whose ImportId is already used in the set updates that entity instead of
//     creating a second one; two racing POSTs with one ImportId both end on the same record
//     (the unique partial index on import_id refuses the loser's insert, which then updates).
//   - PATCH and PUT on Set(<guid>) both change only the fields sent (Tribe clients send partial
//     bodies with PUT).
//   - Activities carry an ETag (activities.version): If-Match with a stale tag is a 412 and
//     writes nothing; "*" matches any existing entity. Other sets have no ETag: the odata
//     package answers 412 to any tag but "*".
//   - DELETE answers 204, 404 for an unknown key.

// odataWriters returns the write side of the OData entity sets, by set name. Sets without a
// writer answer 405 to POST, PATCH, PUT and DELETE.
func (h *Handler) odataWriters() map[string]odata.Writer {
	out := h.recordWriters()
	for _, k := range models.Kinds {
		out[odataSetName(k.Type)] = &activityWriter{store: h.Store, kind: k, set: odataSetName(k.Type)}
	}
	return out
}

// requestActor is the caller of an OData request (Anonymous without credentials, whom every
// permission check refuses).
func requestActor(r *http.Request) models.Actor { return web.CurrentActor(r.Context()) }

// expectedVersion turns If-Match into the version a write expects: nil without If-Match or
// with "*". A list of tags picks the one equal to current (the Store re-checks it in its
// transaction, so a write between this read and the write still fails); a tag that is no
// version cannot match.
func expectedVersion(pre odata.Precondition, current func() (int, error)) (*int, error) {
	if !pre.Present || pre.Any {
		return nil, nil
	}
	if len(pre.Values) == 1 {
		v, err := strconv.Atoi(pre.Values[0])
		if err != nil {
			return nil, odata.PreconditionFailed("The entity tag in If-Match is not current; read the entity again.")
		}
		return &v, nil
	}
	cur, err := current()
	if err != nil {
		return nil, err
	}
	if !pre.Matches(strconv.Itoa(cur)) {
		return nil, odata.PreconditionFailed("None of the entity tags in If-Match is current; read the entity again.")
	}
	return &cur, nil
}

// staleIfMatch is the 412 for a write refused for its version.
func staleIfMatch() error {
	return odata.PreconditionFailed("The entity was changed since the ETag in If-Match was read; nothing was written. Read it again and retry.")
}

// upsert is the POST of every writer: it updates the entity the body names by ID (404 when
// there is none) or by ImportId, else creates one. typ narrows the look-ups to one type of the
// table ("" for tables of one type). refuseCreate, when not nil, is returned instead of
// creating (If-Match on a POST that finds nothing). A create that loses a race to the same
// ImportId (the unique index refuses its insert) looks the record up again and updates it: the
// winner has committed by then, so a few rounds are plenty.
func upsert(ctx context.Context, store *models.Store, set, typ string, body *odata.Body, importID *string, model func() any,
	refuseCreate error, create func() (uuid.UUID, error), update func(id uuid.UUID) error) (string, bool, error) {
	if body.Key != nil {
		id := uuid.MustParse(*body.Key)
		ok, err := store.Exists(ctx, model(), typ, id)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return "", false, &odata.Error{Status: http.StatusNotFound, Code: "NotFound", Target: "ID",
				Message: set + "(" + id.String() + ") does not exist; leave ID out to create."}
		}
		return id.String(), false, web.ODataError(update(id))
	}
	hasImport := importID != nil && *importID != ""
	for attempt := 0; ; attempt++ {
		if hasImport {
			id, ok, err := store.IDByImportID(ctx, model(), typ, *importID)
			if err != nil {
				return "", false, err
			}
			if ok {
				return id.String(), false, web.ODataError(update(id))
			}
		}
		if refuseCreate != nil {
			return "", false, refuseCreate
		}
		id, err := create()
		if err == nil {
			return id.String(), true, nil
		}
		if !(hasImport && attempt < 3 && isImportConflict(err)) {
			return "", false, web.ODataError(err)
		}
	}
}

// isImportConflict reports the unique-index refusal of a second record with one ImportId.
func isImportConflict(err error) bool {
	var de *models.Error
	return errors.As(err, &de) && de.Code == models.EConflict && de.Field == "ImportId"
}
