package llm

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testRequest = Request{Model: "test-model", System: "be brief", Prompt: "say hello", MaxOutputTokens: 64, Temperature: new(0.2)}

func TestProviderSuccess(t *testing.T) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) { reply(rw, 200, w.success) })
			p := dial(t, w, f.srv.URL, 5*time.Second)
			got, err := p.Chat(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			want := Response{Text: "hello, world", Model: "test-model-001", InputTokens: 11, OutputTokens: 7, FinishReasons: []string{"stop", "length"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Chat (-want +got):\n%s", diff)
			}
			if p.Name() != w.name {
				t.Errorf("Name() = %q, want %q", p.Name(), w.name)
			}
			addr, port := p.Server()
			if addr != "127.0.0.1" || port == 0 || port == 80 {
				t.Errorf("Server() = %q, %d; want the fake server's", addr, port)
			}
		})
	}
}

// TestProviderHTTPErrors checks each status's stable type, that the library
// does not retry (one request), and that no message repeats the key the
// server echoes in its body and headers.
func TestProviderHTTPErrors(t *testing.T) {
	tests := []struct {
		status int
		typ    string
	}{
		{400, TypeBadRequest},
		{401, TypeAuth},
		{403, TypeAuth},
		{404, TypeBadRequest},
		{429, TypeRateLimit},
		{500, TypeServer},
		{503, TypeServer},
	}
	for _, w := range wires {
		for _, tt := range tests {
			t.Run(w.name+"/"+http.StatusText(tt.status), func(t *testing.T) {
				f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) {
					rw.Header().Set("Retry-After", "1")
					reply(rw, tt.status, w.errorBody(tt.status))
				})
				p := dial(t, w, f.srv.URL, 5*time.Second)
				_, err := p.Chat(t.Context(), testRequest)
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Chat error = %v (%T), want *Error", err, err)
				}
				want := Error{Type: tt.typ, Status: tt.status, Provider: w.name}
				if diff := cmp.Diff(want, *e, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".msg" || p.Last().String() == ".cause" }, cmp.Ignore())); diff != "" {
					t.Errorf("error (-want +got):\n%s\nmessage: %v", diff, e)
				}
				checkNoKey(t, err)
				if n := f.hits.Load(); n != 1 {
					t.Errorf("server got %d requests, want 1 (no retries)", n)
				}
				t.Log(err)
			})
		}
	}
}

func TestProviderWrongKey(t *testing.T) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) { reply(rw, 200, w.success) })
			var p Provider
			var err error
			if w.name == "openai" {
				p, err = NewOpenAI(Config{APIKey: "wrong-key-42", BaseURL: f.srv.URL + "/v1"})
			} else {
				p, err = NewGemini(Config{APIKey: "wrong-key-42", BaseURL: f.srv.URL})
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Chat(t.Context(), testRequest)
			wantType(t, err, TypeAuth)
		})
	}
}

func TestProviderSlowReplyWithinTimeout(t *testing.T) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) {
				time.Sleep(100 * time.Millisecond) // the server's behaviour: a slow model
				reply(rw, 200, w.success)
			})
			p := dial(t, w, f.srv.URL, 10*time.Second)
			if _, err := p.Chat(t.Context(), testRequest); err != nil {
				t.Fatalf("Chat: %v", err)
			}
		})
	}
}

// blockingFake never answers: it holds each request until the client goes
// away or the test ends. arrived gets a value when a request is held.
func blockingFake(t *testing.T, w wire) (*fake, chan struct{}) {
	arrived := make(chan struct{}, 1)
	done := make(chan struct{})
	f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) }) // runs before the server's Close
	return f, arrived
}

func TestProviderTimeout(t *testing.T) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			f, _ := blockingFake(t, w)
			p := dial(t, w, f.srv.URL, 200*time.Millisecond)
			start := time.Now()
			_, err := p.Chat(t.Context(), testRequest)
			wantType(t, err, TypeTimeout)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("timeout took %v", d)
			}
			checkNoKey(t, err)
		})
	}
}

func TestProviderCanceled(t *testing.T) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			f, arrived := blockingFake(t, w)
			p := dial(t, w, f.srv.URL, time.Minute)
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-arrived
				cancel()
			}()
			_, err := p.Chat(ctx, testRequest)
			wantType(t, err, TypeCanceled)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
			}
		})
	}
}

func TestProviderInvalidResponse(t *testing.T) {
	for _, w := range wires {
		for name, body := range map[string]string{"not JSON": "<html>hi", "no choices": `{"model":"m"}`} {
			t.Run(w.name+"/"+name, func(t *testing.T) {
				f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) { reply(rw, 200, body) })
				p := dial(t, w, f.srv.URL, 5*time.Second)
				_, err := p.Chat(t.Context(), testRequest)
				wantType(t, err, TypeInvalidResponse)
			})
		}
	}
}

func TestProviderNetwork(t *testing.T) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) {})
			url := f.srv.URL
			f.srv.Close()
			p := dial(t, w, url, 5*time.Second)
			_, err := p.Chat(t.Context(), testRequest)
			wantType(t, err, TypeNetwork)
			t.Log(err)
		})
	}
}

func TestNewGeminiNeedsKey(t *testing.T) {
	_, err := NewGemini(Config{BaseURL: "http://127.0.0.1:1"})
	wantType(t, err, TypeAuth)
}

func TestBadBaseURL(t *testing.T) {
	for _, base := range []string{"ftp://x", "no-scheme", "http://"} {
		if _, err := NewGemini(Config{APIKey: testKey, BaseURL: base}); err == nil {
			t.Errorf("NewGemini(%q): no error", base)
		}
		if _, err := NewOpenAI(Config{BaseURL: base}); err == nil {
			t.Errorf("NewOpenAI(%q): no error", base)
		}
	}
}

// TestProviderTooLarge: an answer over Config.MaxResponseBytes fails with
// response_too_large, and the client stops reading it: a server streaming
// a 96 MiB answer gets no further than the limit and the socket buffers
// before the client hangs up, so memory is bounded by the limit.
func TestProviderTooLarge(t *testing.T) {
	const (
		limit = 1 << 20
		total = 96 << 20
	)
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			wrote := make(chan int64, 1)
			f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) {
				// The success body with its first text replaced by total
				// bytes of text, streamed.
				head, tail, _ := strings.Cut(w.success, "hello, ")
				if w.name == "openai" {
					head, tail, _ = strings.Cut(w.success, "hello, world")
				}
				rw.Header().Set("Content-Type", "application/json")
				n, _ := io.WriteString(rw, head)
				chunk := []byte(strings.Repeat("a", 64<<10))
				sent := int64(n)
				for sent < total {
					n, err := rw.Write(chunk)
					sent += int64(n)
					if err != nil {
						break
					}
				}
				io.WriteString(rw, tail)
				wrote <- sent
			})
			p := dialConfig(t, w, Config{BaseURL: f.srv.URL, Timeout: time.Minute, MaxResponseBytes: limit})
			_, err := p.Chat(t.Context(), testRequest)
			wantType(t, err, TypeTooLarge)
			if !strings.Contains(err.Error(), "the answer is over the limit of 1048576 bytes") {
				t.Errorf("message %q does not name the limit", err)
			}
			if sent := <-wrote; sent >= total/3 {
				t.Errorf("the server sent %d bytes before the client stopped; want far fewer than %d", sent, total)
			}
		})
	}
}
