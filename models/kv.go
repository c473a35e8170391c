package models

import (
	"context"
	"crypto/rand"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// KV is the kv_store table: small values with an optional expiry, shared by every instance
// behind a load balancer (the server keys that sign cookies, for one). Keys are namespaced by
// Prefix. Its Get/Set/Delete/Reset/Close methods make it a fiber.Storage, for Fiber middleware
// that wants one.
type KV struct {
	DB     *gorm.DB
	Prefix string
	Now    func() time.Time
}

// KV returns the store's kv_store with keys under prefix.
func (s *Store) KV(prefix string) *KV { return &KV{DB: s.DB, Prefix: prefix, Now: s.Now} }

type kvRow struct {
	K         string `gorm:"column:k;primaryKey"`
	V         []byte `gorm:"column:v"`
	ExpiresAt *time.Time
}

func (kvRow) TableName() string { return "kv_store" }

func (s *KV) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Get returns nil, nil for a missing or expired key, as fiber.Storage requires.
func (s *KV) Get(key string) ([]byte, error) { return s.GetContext(context.Background(), key) }

// GetContext is Get with the request's context.
func (s *KV) GetContext(ctx context.Context, key string) ([]byte, error) {
	var rows []kvRow
	err := s.DB.WithContext(ctx).Where("k = ? AND (expires_at IS NULL OR expires_at > ?)", s.Prefix+key, s.now()).
		Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0].V, nil
}

// Set stores val under key; exp > 0 makes it expire.
func (s *KV) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	row := kvRow{K: s.Prefix + key, V: val}
	if exp > 0 {
		t := s.now().Add(exp)
		row.ExpiresAt = &t
	}
	return s.DB.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "k"}}, DoUpdates: clause.AssignmentColumns([]string{"v", "expires_at"})}).Create(&row).Error
}

func (s *KV) Delete(key string) error {
	return s.DB.Where("k = ?", s.Prefix+key).Delete(&kvRow{}).Error
}

// Reset removes this storage's keys (its prefix) and, while at it, every expired key.
func (s *KV) Reset() error {
	return s.DB.Where("k LIKE ? OR expires_at <= ?", s.Prefix+"%", s.now()).Delete(&kvRow{}).Error
}

func (s *KV) Close() error { return nil }

// PurgeExpired deletes expired keys (of every prefix); the server calls it now and then.
func (s *KV) PurgeExpired() error {
	return s.DB.Where("expires_at <= ?", s.now()).Delete(&kvRow{}).Error
}

// Secret returns the never-expiring random secret of n bytes kept under key, creating it on
// first use. Every instance reads the same value: the first insert wins, the others keep it.
func (s *KV) Secret(ctx context.Context, key string, n int) ([]byte, error) {
	if v, err := s.GetContext(ctx, key); err != nil || v != nil {
		return v, err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	err := s.DB.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "k"}}, DoNothing: true}).
		Create(&kvRow{K: s.Prefix + key, V: b}).Error
	if err != nil {
		return nil, err
	}
	var row kvRow
	if err := s.DB.WithContext(ctx).Where("k = ?", s.Prefix+key).Take(&row).Error; err != nil {
		return nil, err
	}
	return row.V, nil
}

// ServerKey is a 32-byte secret of the installation named purpose (signing cookies, say): made
// once in kv_store, shared by every instance, and kept in memory after the first read, so it
// costs a query once per process.
func (s *Store) ServerKey(ctx context.Context, purpose string) ([]byte, error) {
	if s.keys != nil {
		if k, ok := s.keys.Load(purpose); ok {
			return k.([]byte), nil
		}
	}
	k, err := s.KV("server-key:").Secret(ctx, purpose, 32)
	if err != nil {
		return nil, err
	}
	if s.keys != nil {
		s.keys.Store(purpose, k)
	}
	return k, nil
}
