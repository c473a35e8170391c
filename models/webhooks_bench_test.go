package models_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// BenchmarkWebhookDeliveries: deliveries per second to a local receiver, on both databases,
// for one webhook (one lane: in order, one at a time) and for 8 webhooks of the same changes
// (8 lanes at once), beside the same number of plain signed HTTP POSTs to the same receiver
// made in a loop (raw-per-s): what the queue, the leases and the bookkeeping cost.
//
//	go test -run '^$' -bench WebhookDeliveries -benchtime 1x ./models/
func BenchmarkWebhookDeliveries(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		for _, hooks := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/%d-webhooks", dialect, hooks), func(b *testing.B) {
				s := storetest.New(b, dialect)
				ctx := context.Background()
				if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
					b.Fatal(err)
				}
				var got atomic.Int64
				rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
				defer rcv.Close()
				for i := 0; i < hooks; i++ {
					if _, _, err := s.CreateWebhook(ctx, models.WebhookInput{EntityType: "Activity.SalesOpportunity", WebhookURL: rcv.URL}, loopback, models.Actor{}); err != nil {
						b.Fatal(err)
					}
				}
				ps, _ := s.SalesPipelines(ctx)
				const changes = 300
				for i := 0; i < changes; i++ {
					subject := fmt.Sprint("bench ", i)
					if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &ps[0].ID}, models.Actor{}); err != nil {
						b.Fatal(err)
					}
				}
				want := int64(changes * hooks)
				b.ResetTimer()
				t0 := time.Now()
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { s.RunWebhooks(runCtx, models.WebhookConfig{Policy: loopback}); close(done) }()
				for got.Load() < want {
					if time.Since(t0) > 5*time.Minute {
						b.Fatalf("%d of %d delivered", got.Load(), want)
					}
					time.Sleep(2 * time.Millisecond)
				}
				took := time.Since(t0)
				cancel()
				<-done
				b.StopTimer()
				// The raw work: the same number of signed POSTs, one after the other.
				body := []byte(`{"webhookId":"x","payload":{"type":"EntityCreationMutation"}}`)
				t1 := time.Now()
				for i := int64(0); i < want; i++ {
					req, _ := http.NewRequest("POST", rcv.URL, bytes.NewReader(body))
					req.Header.Set(models.WebhookSignatureHeader, models.Sign(body, "secret"))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
				raw := time.Since(t1)
				b.ReportMetric(float64(want)/took.Seconds(), "deliveries/s")
				b.ReportMetric(float64(want)/raw.Seconds(), "raw-posts/s")
			})
		}
	}
}
