package models

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Webhooks as Tribe has them: a webhook names an entity type and a URL; every committed change
// of that type (from the change feed) is POSTed there as {"webhookId", "payload"}, signed with
// the webhook's secret. Delivery is at least once: each change becomes a delivery row in the
// change's order, attempted with exponential backoff and jitter until the receiver answers 2xx
// or the attempts run out (then the webhook is marked failing and waits for an admin's retry).
// Each webhook is a lane: only its oldest pending delivery is attempted, by one instance at a
// time (a lease), so a slow or dead receiver delays nobody else, and a killed instance's lease
// simply runs out and another (or the restarted one) attempts the delivery again.

// Webhook signature and delivery headers (README: verification recipe).
const (
	WebhookSignatureHeader = "X-Phaseboard-Signature" // Base64(HMAC-SHA512(body, secret))
	WebhookDeliveryHeader  = "X-Phaseboard-Delivery"  // the delivery's id: the same on every attempt
	WebhookIDHeader        = "X-Phaseboard-Webhook"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Webhook is one registered webhook.
type Webhook struct {
	ID           uuid.UUID `gorm:"primaryKey;type:uuid"`
	EntityType   string
	WebhookURL   string `gorm:"column:webhook_url"`
	Headers      string // JSON list of {"name", "value"}, sent with every delivery
	Secret       string `json:"-"` // signs the deliveries; shown once, at creation
	Cursor       int64  // the change feed id up to which its changes are queued
	Failing      bool
	FailingSince *time.Time
	CreatedBy    *uuid.UUID `gorm:"type:uuid"`
	CreationDate time.Time
}

// WebhookHeader is a header a webhook's deliveries carry (a receiver's API key, say).
type WebhookHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HeaderList is the webhook's headers.
func (w *Webhook) HeaderList() []WebhookHeader {
	var hs []WebhookHeader
	_ = json.Unmarshal([]byte(w.Headers), &hs)
	return hs
}

// WebhookDelivery is one change's delivery to one webhook.
type WebhookDelivery struct {
	ID            uuid.UUID `gorm:"primaryKey;type:uuid"`
	WebhookID     uuid.UUID `gorm:"type:uuid"`
	ChangeID      int64
	Body          string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastStatus    int
	LastError     string
	DeliveredAt   *time.Time
	CreationDate  time.Time
}

// WebhookInput is a webhook to create (the API's POST /v1/webhooks body).
type WebhookInput struct {
	EntityType string          `json:"entityType"`
	WebhookURL string          `json:"webhookUrl"`
	Headers    []WebhookHeader `json:"headers"`
}

// WebhookPolicy is which URLs webhooks may call (PHASEBOARD_WEBHOOK_ALLOWED_HOSTS).
type WebhookPolicy struct {
	// AllowedHosts, when set, are the only hosts (exact, or "*.example.com" for its
	// subdomains) webhooks may call; a listed host may resolve to a loopback or private
	// address (tests list 127.0.0.1). Empty: any public host, never loopback, private or
	// link-local addresses.
	AllowedHosts []string
}

func (p WebhookPolicy) listed(host string) bool {
	host = strings.ToLower(host)
	for _, h := range p.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == host || strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) {
			return true
		}
	}
	return false
}

// check refuses a URL webhooks may not call, naming why.
func (p WebhookPolicy) check(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.User != nil {
		return FieldError("webhookUrl", "Give the full http(s) URL of the receiver, without credentials.")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return FieldError("webhookUrl", "Webhooks call http or https URLs only.")
	}
	host := u.Hostname()
	if len(p.AllowedHosts) > 0 {
		if !p.listed(host) {
			return FieldError("webhookUrl", "Webhooks may call only the hosts this server allows (%s).", strings.Join(p.AllowedHosts, ", "))
		}
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && !publicIP(ip) || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return FieldError("webhookUrl", "Webhooks may not call this server's own network.")
	}
	return nil
}

// publicIP reports whether ip is an address on the Internet (not loopback, private,
// link-local or unspecified): where an unlisted webhook host may resolve to.
func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}

// reservedHeaders are the headers a webhook may not set: the delivery's own.
var reservedHeaders = map[string]bool{"content-type": true, "content-length": true, "host": true, "user-agent": true,
	"transfer-encoding": true, "connection": true}

func checkHeaders(hs []WebhookHeader) error {
	if len(hs) > 20 {
		return FieldError("headers", "At most 20 headers.")
	}
	for _, h := range hs {
		name := strings.TrimSpace(h.Name)
		if name == "" || len(name) > 100 || strings.IndexFunc(name, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r)
		}) >= 0 {
			return FieldError("headers", "A header name is a token (letters, digits, - and the like).")
		}
		lower := strings.ToLower(name)
		if reservedHeaders[lower] || strings.HasPrefix(lower, "x-phaseboard-") {
			return FieldError("headers", "The header %s is the delivery's own.", name)
		}
		if len(h.Value) > 4000 || strings.ContainsAny(h.Value, "\r\n\x00") {
			return FieldError("headers", "A header value is one line of at most 4000 characters.")
		}
	}
	return nil
}

// TypeWebhook is the webhooks' _Type and OData set (Tribe's Webhook).
const TypeWebhook = "Webhook"

// MayManageWebhooks: administrators and managers (an API client's default role) manage
// webhooks, and read them.
func MayManageWebhooks(a Actor) bool {
	return a.IsSystem() || a.Role == RoleAdmin || a.Role == RoleManager
}

func canManageWebhooks(a Actor) error {
	if MayManageWebhooks(a) {
		return nil
	}
	return Errorf(EForbidden, "Only managers and administrators manage webhooks.")
}

// CreateWebhook registers a webhook and returns it with its secret (shown once). It follows
// the changes committed from now on.
func (s *Store) CreateWebhook(ctx context.Context, in WebhookInput, policy WebhookPolicy, actor Actor) (*Webhook, string, error) {
	if err := canManageWebhooks(actor); err != nil {
		return nil, "", err
	}
	in.EntityType = strings.TrimSpace(in.EntityType)
	if !KnownEntityType(in.EntityType) {
		return nil, "", FieldError("entityType", "Name an entity type such as Activity.SalesOpportunity, Relation.Organization or a phase type.")
	}
	if err := policy.check(in.WebhookURL); err != nil {
		return nil, "", err
	}
	if err := checkHeaders(in.Headers); err != nil {
		return nil, "", err
	}
	if in.Headers == nil {
		in.Headers = []WebhookHeader{}
	}
	headers, _ := json.Marshal(in.Headers)
	secret, _ := newToken()
	w := &Webhook{ID: uuid.New(), EntityType: in.EntityType, WebhookURL: strings.TrimSpace(in.WebhookURL), Headers: string(headers),
		Secret: secret, CreatedBy: actor.EmployeeID, CreationDate: s.now()}
	err := s.transact(ctx, func(tx *gorm.DB) error {
		var head *int64
		if err := tx.Raw("SELECT max(id) FROM changes").Scan(&head).Error; err != nil {
			return err
		}
		if head != nil {
			w.Cursor = *head
		}
		return tx.Create(w).Error
	})
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// KnownEntityType reports whether the feed can carry changes of typ: an activity kind, a phase
// type, a pipeline or a record type.
func KnownEntityType(typ string) bool {
	if KindByType(typ) != nil || KindByPhaseType(typ) != nil || typ == TypePipeline {
		return true
	}
	switch typ {
	case TypeEmployee, TypeContact, TypeRelationship, TypeSource, TypeLostReason, TypeCompetitor, TypePriceList,
		TypeProductLine, TypeInvolved, TypeTimeRegistration:
		return true
	}
	// Tribe's relation types (Relation.Organization, Relation.Person …): the relations' own
	// writes report them under these names.
	return strings.HasPrefix(typ, "Relation.") && len(typ) < 200 && !strings.ContainsAny(typ, " \t\r\n")
}

// Webhooks lists the webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, actor Actor) ([]Webhook, error) {
	if err := canManageWebhooks(actor); err != nil {
		return nil, err
	}
	var out []Webhook
	err := s.db(ctx).Order("creation_date, id").Find(&out).Error
	return out, err
}

// Webhook loads one webhook.
func (s *Store) Webhook(ctx context.Context, id uuid.UUID, actor Actor) (*Webhook, error) {
	if err := canManageWebhooks(actor); err != nil {
		return nil, err
	}
	var w Webhook
	err := s.db(ctx).Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That webhook does not exist.")
	}
	return &w, err
}

// DeleteWebhook removes a webhook and its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, id uuid.UUID, actor Actor) error {
	if err := canManageWebhooks(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&Webhook{})
		if res.Error == nil && res.RowsAffected == 0 {
			return Errorf(ENotFound, "That webhook does not exist.")
		}
		return res.Error
	})
}

// RetryWebhook takes a failing webhook up again: its failed deliveries are attempted afresh.
func (s *Store) RetryWebhook(ctx context.Context, id uuid.UUID, actor Actor) error {
	if _, err := s.Webhook(ctx, id, actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Webhook{}).Where("id = ?", id).Updates(map[string]any{"failing": false, "failing_since": nil}).Error; err != nil {
			return err
		}
		return tx.Model(&WebhookDelivery{}).Where("webhook_id = ? AND status = ?", id, DeliveryFailed).
			Updates(map[string]any{"status": DeliveryPending, "attempts": 0, "next_attempt_at": s.now(), "lease_until": nil}).Error
	})
}

// Deliveries lists a webhook's newest deliveries (its delivery log).
func (s *Store) Deliveries(ctx context.Context, webhookID uuid.UUID, limit int, actor Actor) ([]WebhookDelivery, error) {
	if err := canManageWebhooks(actor); err != nil {
		return nil, err
	}
	var out []WebhookDelivery
	err := s.db(ctx).Where("webhook_id = ?", webhookID).Order("change_id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// mutationOf is Tribe's name of what a change did.
func mutationOf(op string) string {
	switch op {
	case ChangeCreated:
		return "EntityCreationMutation"
	case ChangeDeleted:
		return "EntityDeletionMutation"
	}
	return "EntityUpdateMutation"
}

// deliveryBody is the exact body a change is delivered with (signed as it is, kept for retries).
func deliveryBody(w *Webhook, r *ChangeRecord) string {
	payload := map[string]any{"type": mutationOf(r.Op), "entityType": r.EntityType, "entityId": r.EntityID,
		"version": r.Version, "changeId": r.ID, "changedAt": r.At.UTC().Format(time.RFC3339Nano)}
	if r.Op == ChangePhaseChanged {
		payload["phaseChanged"] = true
	}
	if r.FromPhaseID != nil {
		payload["oldPhaseId"] = r.FromPhaseID
	}
	if r.ToPhaseID != nil {
		payload["newPhaseId"] = r.ToPhaseID
	}
	b, _ := json.Marshal(map[string]any{"webhookId": w.ID, "payload": payload})
	return string(b)
}

// Sign is a delivery's signature: Base64 of HMAC-SHA512 of the exact body with the secret.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// WebhookConfig is how RunWebhooks delivers.
type WebhookConfig struct {
	Policy      WebhookPolicy
	Timeout     time.Duration // one attempt's limit (default 10 s); the lease is 5 s longer
	BaseDelay   time.Duration // the first retry's delay (default 2 s), doubled per attempt
	MaxDelay    time.Duration // (default 10 min)
	MaxAttempts int           // then the webhook is failing (default 10)
	Lanes       int           // webhooks attempted at once by this instance (default 16)
	Logger      *slog.Logger
}

func (c *WebhookConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 2 * time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 10 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Lanes <= 0 {
		c.Lanes = 16
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// RunWebhooks queues and delivers until ctx ends: every instance runs it; leases share the work.
func (s *Store) RunWebhooks(ctx context.Context, cfg WebhookConfig) {
	cfg.defaults()
	s.Feed().Start(FeedConfig{Logger: cfg.Logger})
	latest, _ := s.Feed().Latest(ctx)
	sub := s.Feed().Subscribe(latest) // a wake-up on every change; the table says what to do
	defer sub.Close()
	d := &deliverer{s: s, cfg: cfg, busy: map[uuid.UUID]bool{}, done: make(chan struct{}, 1),
		client: &http.Client{Timeout: cfg.Timeout, Transport: webhookTransport(cfg.Policy),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// Retries come due between changes: look as often as the first retry's delay, between
	// 50 ms and a second (an idle instance asks three small queries a second).
	tick := time.NewTicker(min(max(cfg.BaseDelay, 50*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		if err := s.queueWebhookDeliveries(ctx); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("webhooks: queueing deliveries", "err", err)
		}
		if err := d.claim(ctx); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("webhooks: claiming deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return
		case <-sub.C:
		case <-d.done:
		case <-tick.C:
		}
	}
}

// webhookTransport dials only where the policy lets webhooks go: a loopback or private address
// only for a host the allowed list names (checked on the resolved address, so DNS cannot lead
// a webhook into the server's own network).
func webhookTransport(p WebhookPolicy) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		d := *dialer
		if !p.listed(host) {
			d.Control = func(_, address string, _ syscall.RawConn) error {
				h, _, _ := net.SplitHostPort(address)
				if ip := net.ParseIP(h); ip == nil || !publicIP(ip) {
					return fmt.Errorf("webhook host %s resolves to a non-public address", host)
				}
				return nil
			}
		}
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// queueWebhookDeliveries turns the feed rows after each webhook's cursor into its deliveries.
// A webhook whose row another instance holds is skipped (it is at it).
func (s *Store) queueWebhookDeliveries(ctx context.Context) error {
	var hooks []Webhook
	var head *int64
	if err := s.DB.WithContext(ctx).Raw("SELECT max(id) FROM changes").Scan(&head).Error; err != nil || head == nil {
		return err
	}
	if err := s.DB.WithContext(ctx).Where("cursor < ?", *head).Find(&hooks).Error; err != nil {
		return err
	}
	for _, w := range hooks {
		err := s.transact(ctx, func(tx *gorm.DB) error {
			var locked []Webhook
			if err := s.sql.skipLocked(tx, "webhooks").Where("id = ? AND cursor < ?", w.ID, *head).Find(&locked).Error; err != nil || len(locked) == 0 {
				return err
			}
			w := &locked[0]
			var recs []ChangeRecord
			const batch = 1000
			if err := tx.Where("id > ? AND id <= ? AND entity_type = ?", w.Cursor, *head, w.EntityType).Order("id").Limit(batch).Find(&recs).Error; err != nil {
				return err
			}
			cursor := *head
			if len(recs) == batch {
				cursor = recs[len(recs)-1].ID
			}
			now := s.now()
			rows := make([]WebhookDelivery, len(recs))
			for i := range recs {
				rows[i] = WebhookDelivery{ID: uuid.New(), WebhookID: w.ID, ChangeID: recs[i].ID, Body: deliveryBody(w, &recs[i]),
					Status: DeliveryPending, NextAttemptAt: now, CreationDate: now}
			}
			if len(rows) > 0 {
				if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 200).Error; err != nil {
					return err
				}
			}
			return tx.Model(&Webhook{}).Where("id = ?", w.ID).Update("cursor", cursor).Error
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// deliverer attempts deliveries, one lane (webhook) at a time each.
type deliverer struct {
	s      *Store
	cfg    WebhookConfig
	client *http.Client
	mu     sync.Mutex
	busy   map[uuid.UUID]bool // lanes this instance is attempting
	done   chan struct{}      // a lane finished: claim again
	wg     sync.WaitGroup
}

// claim leases the head (oldest pending delivery) of each lane that is due, free (no other
// instance holds its lease) and not failing, and attempts them, each lane in its own goroutine
// that goes on with the lane's next head until none is due.
func (d *deliverer) claim(ctx context.Context) error {
	d.mu.Lock()
	free := d.cfg.Lanes - len(d.busy)
	d.mu.Unlock()
	if free <= 0 {
		return nil
	}
	heads, err := d.heads(ctx, nil)
	if err != nil {
		return err
	}
	for i := range heads {
		del := heads[i]
		d.mu.Lock()
		if d.busy[del.WebhookID] || len(d.busy) >= d.cfg.Lanes {
			d.mu.Unlock()
			continue
		}
		d.busy[del.WebhookID] = true
		d.mu.Unlock()
		d.wg.Add(1)
		go d.lane(ctx, &del)
	}
	return nil
}

// lane attempts first and then the lane's next heads while it holds them.
func (d *deliverer) lane(ctx context.Context, first *WebhookDelivery) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		delete(d.busy, first.WebhookID)
		d.mu.Unlock()
		select {
		case d.done <- struct{}{}:
		default:
		}
	}()
	del := first
	for ctx.Err() == nil {
		ok, err := d.lease(ctx, del)
		if err != nil || !ok {
			return // another instance has it, or the database is away
		}
		d.attempt(ctx, del)
		next, err := d.heads(ctx, &del.WebhookID)
		if err != nil || len(next) == 0 {
			return
		}
		del = &next[0]
	}
}

// heads are the due, unleased heads of the lanes that are not failing (of one webhook, when
// named). Driven from the webhooks: each lane's head is one index probe.
func (d *deliverer) heads(ctx context.Context, webhook *uuid.UUID) ([]WebhookDelivery, error) {
	now := d.s.now()
	q := d.s.DB.WithContext(ctx).Table("webhooks AS w").Select("d.*").
		Joins(`JOIN webhook_deliveries d ON d.id = (SELECT o.id FROM webhook_deliveries o
			WHERE o.webhook_id = w.id AND o.status = ? ORDER BY o.change_id LIMIT 1)`, DeliveryPending).
		Where("NOT w.failing AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)", now, now)
	if webhook != nil {
		q = q.Where("w.id = ?", *webhook)
	}
	var out []WebhookDelivery
	err := q.Order("d.next_attempt_at").Limit(d.cfg.Lanes).Find(&out).Error
	return out, err
}

// lease takes a delivery for one attempt, if nobody holds it: the conditional update is the
// lock (a second instance's update finds the lease taken and changes nothing).
func (d *deliverer) lease(ctx context.Context, del *WebhookDelivery) (bool, error) {
	now := d.s.now()
	res := d.s.DB.WithContext(ctx).Model(&WebhookDelivery{}).
		Where("id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ?)", del.ID, DeliveryPending, now).
		Update("lease_until", now.Add(d.cfg.Timeout+5*time.Second))
	return res.RowsAffected == 1, res.Error
}

// attempt POSTs one delivery and records the outcome.
func (d *deliverer) attempt(ctx context.Context, del *WebhookDelivery) {
	var w Webhook
	if err := d.s.DB.WithContext(ctx).Where("id = ?", del.WebhookID).Take(&w).Error; err != nil {
		return // deleted meanwhile (its deliveries went with it), or the database is away: the lease runs out
	}
	status, sendErr := d.send(ctx, &w, del)
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and the delivery is attempted again
	}
	now := d.s.now()
	updates := map[string]any{"attempts": del.Attempts + 1, "last_status": status, "lease_until": nil, "last_error": ""}
	failed := false
	if sendErr == nil && status >= 200 && status < 300 {
		updates["status"], updates["delivered_at"] = DeliveryDelivered, now
	} else {
		msg := fmt.Sprintf("HTTP %d", status)
		if sendErr != nil {
			msg = sendErr.Error()
		}
		updates["last_error"] = truncate(msg, 500)
		if del.Attempts+1 >= d.cfg.MaxAttempts {
			updates["status"], failed = DeliveryFailed, true
		} else {
			updates["next_attempt_at"] = now.Add(d.backoff(del.Attempts + 1))
		}
	}
	err := d.s.transact(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
		if err := tx.Model(&WebhookDelivery{}).Where("id = ? AND status = ?", del.ID, DeliveryPending).Updates(updates).Error; err != nil {
			return err
		}
		if failed {
			return tx.Model(&Webhook{}).Where("id = ?", w.ID).Updates(map[string]any{"failing": true, "failing_since": now}).Error
		}
		return nil
	})
	if err != nil {
		d.cfg.Logger.Warn("webhooks: recording a delivery", "webhook", w.ID, "delivery", del.ID, "err", err)
	}
	if failed {
		d.cfg.Logger.Warn("webhook failing: its attempts ran out", "webhook", w.ID, "delivery", del.ID)
	}
}

// backoff is the delay before attempt n+1: exponential, capped, with jitter (half to all of
// it), so that receivers that come back are not hit by every instance at once.
func (d *deliverer) backoff(n int) time.Duration {
	delay := d.cfg.BaseDelay << min(n-1, 30)
	if delay <= 0 || delay > d.cfg.MaxDelay {
		delay = d.cfg.MaxDelay
	}
	return delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
}

func (d *deliverer) send(ctx context.Context, w *Webhook, del *WebhookDelivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.WebhookURL, bytes.NewReader([]byte(del.Body)))
	if err != nil {
		return 0, err
	}
	for _, h := range w.HeaderList() {
		req.Header.Set(h.Name, h.Value)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Phaseboard-Webhooks/1")
	req.Header.Set(WebhookSignatureHeader, Sign([]byte(del.Body), w.Secret))
	req.Header.Set(WebhookDeliveryHeader, del.ID.String())
	req.Header.Set(WebhookIDHeader, w.ID.String())
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
