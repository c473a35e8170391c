package models_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestKV: the kv_store table as models.KV (a fiber.Storage): prefixes keep namespaces apart,
// expired keys read as missing, and a secret is created once for every instance.
func TestKV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		a, b := s.KV("a:"), s.KV("b:")
		if err := a.Set("k", []byte("one"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.Set("k", []byte("two"), 0); err != nil {
			t.Fatal(err)
		}
		if v, err := a.Get("k"); err != nil || string(v) != "one" {
			t.Fatalf("a:k = %q %v", v, err)
		}
		if err := a.Set("k", []byte("three"), time.Minute); err != nil { // upsert
			t.Fatal(err)
		}
		if v, _ := a.Get("k"); string(v) != "three" {
			t.Fatalf("a:k after overwrite = %q", v)
		}
		now = now.Add(2 * time.Minute)
		if v, err := a.Get("k"); err != nil || v != nil {
			t.Fatalf("expired key read as %q %v", v, err)
		}
		if err := a.PurgeExpired(); err != nil {
			t.Fatal(err)
		}
		if v, _ := b.Get("k"); string(v) != "two" {
			t.Fatalf("purge removed a key without expiry: %q", v)
		}

		// Two instances (two Stores on one database) agree on a secret.
		ctx := context.Background()
		k1, err := s.KV("server:").Secret(ctx, "test-key", 32)
		if err != nil || len(k1) != 32 {
			t.Fatalf("secret: %x %v", k1, err)
		}
		other := storetest.Reopen(t, s)
		k2, err := other.KV("server:").Secret(ctx, "test-key", 32)
		if err != nil || !bytes.Equal(k1, k2) {
			t.Fatalf("a second instance got another secret: %x vs %x (%v)", k2, k1, err)
		}
	})
}
