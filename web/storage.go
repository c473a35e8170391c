package web

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DBStorage is a fiber.Storage kept in the kv_store table, so that CSRF tokens (and later
// sessions and rate-limit counters) are shared by every instance behind a load balancer.
type DBStorage struct {
	DB     *gorm.DB
	Prefix string
	Now    func() time.Time
}

type kvRow struct {
	K         string `gorm:"column:k;primaryKey"`
	V         []byte `gorm:"column:v"`
	ExpiresAt *time.Time
}

func (kvRow) TableName() string { return "kv_store" }

func (s *DBStorage) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Get returns nil, nil for a missing or expired key, as fiber.Storage requires.
func (s *DBStorage) Get(key string) ([]byte, error) {
	var rows []kvRow
	err := s.DB.WithContext(context.Background()).Where("k = ? AND (expires_at IS NULL OR expires_at > ?)", s.Prefix+key, s.now()).
		Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0].V, nil
}

func (s *DBStorage) Set(key string, val []byte, exp time.Duration) error {
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

func (s *DBStorage) Delete(key string) error {
	return s.DB.Where("k = ?", s.Prefix+key).Delete(&kvRow{}).Error
}

// Reset removes this storage's keys (its prefix) and, while at it, every expired key.
func (s *DBStorage) Reset() error {
	return s.DB.Where("k LIKE ? OR expires_at <= ?", s.Prefix+"%", s.now()).Delete(&kvRow{}).Error
}

func (s *DBStorage) Close() error { return nil }

// PurgeExpired deletes expired keys; the server calls it now and then.
func (s *DBStorage) PurgeExpired() error {
	return s.DB.Where("expires_at <= ?", s.now()).Delete(&kvRow{}).Error
}
