package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
)

// doctor's group checks read the running agent's GET /v1/cluster with the admin
// token of the configuration, over loopback, and get the group as it was sent.
func TestDoctorGroup_ReadsAgentsClusterStatus(t *testing.T) {
	want := cluster.Status{
		Node: "fe1", Leader: "fe2", Quorum: true,
		Members: []cluster.Member{{Name: "fe1", Healthy: true, PeerURL: "https://10.0.0.1:2380"}, {Name: "fe2", Healthy: true, IsLeader: true}},
		Etcd:    cluster.Usage{DBSizeBytes: 900 << 20, QuotaBytes: 1 << 30},
		Nodes:   []cluster.NodeClock{{Node: "fe1", API: "10.0.0.1:8420"}, {Node: "fe2", Offset: 1500 * time.Millisecond}},
	}
	var noCluster atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "Bearer s3cret":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"bad token"}}`))
		case noCluster.Load():
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"no_cluster","message":"this agent is a single machine"}}`))
		default:
			_ = json.NewEncoder(w).Encode(want)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	cfg := config.Default()
	cfg.API.Listen = strings.TrimPrefix(srv.URL, "http://")
	cfg.API.AdminToken = config.NewSecret("s3cret")
	got, err := doctorGroup(context.Background(), cfg)
	if err != nil {
		t.Fatalf("doctorGroup: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}

	noCluster.Store(true)
	if _, err := doctorGroup(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "single machine") {
		t.Errorf("agent without [cluster]: got error %v; want the agent's message", err)
	}
	cfg.API.AdminToken = config.Secret{}
	if _, err := doctorGroup(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "admin_token") {
		t.Errorf("no admin token: got error %v; want it to name admin_token", err)
	}
}
