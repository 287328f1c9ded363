package rediscache_test

import (
	"context"
	"testing"
	"time"
)

// The benchmarks run against the test's redis-server on a Unix socket, with a 40 KB body
// (Flowglad's billing is 30–60 KB): what a hit costs, and what a miss and a fill add to a
// Flowglad read. BenchmarkPlainGET is the floor: a bare GET of the same body.

const benchBodySize = 40 << 10

func BenchmarkGetHit(b *testing.B) {
	srv := startRedis(b)
	c := newCache(b, srv.client(true))
	ctx := context.Background()
	if _, _, err := c.Get(ctx, "user_alice"); err != nil {
		b.Fatal(err)
	}
	if err := c.Set(ctx, "user_alice", billingBody("alice", benchBodySize), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBodySize)
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := c.Get(ctx, "user_alice"); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkGetMiss(b *testing.B) {
	srv := startRedis(b)
	c := newCache(b, srv.client(true))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := c.Get(ctx, "user_alice"); err != nil || found {
			b.Fatal(found, err)
		}
	}
}

// BenchmarkSet times Set alone; the miss it needs (and a bare DEL of the body, which makes
// the next Get miss without a Delete's settle time) run with the timer stopped.
func BenchmarkSet(b *testing.B) {
	srv := startRedis(b)
	c := newCache(b, srv.client(true))
	raw := srv.client(true)
	ctx := context.Background()
	body := billingBody("alice", benchBodySize)
	b.SetBytes(benchBodySize)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := raw.Del(ctx, "flowglad:billing:{user_alice}").Err(); err != nil {
			b.Fatal(err)
		}
		if _, found, err := c.Get(ctx, "user_alice"); err != nil || found {
			b.Fatal(found, err)
		}
		b.StartTimer()
		if err := c.Set(ctx, "user_alice", body, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	if _, found, err := c.Get(ctx, "user_alice"); err != nil || !found {
		b.Fatal("Set stored nothing", err)
	}
}

func BenchmarkDelete(b *testing.B) {
	srv := startRedis(b)
	c := newCache(b, srv.client(true))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Delete(ctx, "user_alice"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlainGET(b *testing.B) {
	srv := startRedis(b)
	rdb := srv.client(true)
	ctx := context.Background()
	if err := rdb.Set(ctx, "plain", billingBody("alice", benchBodySize), time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBodySize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rdb.Get(ctx, "plain").Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
