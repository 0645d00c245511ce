package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to a running lab's HTTP API (the console). The zero value
// is not usable: set Base.
type Client struct {
	// Base is the console's URL, e.g. "http://127.0.0.1:8080".
	Base string
	// HTTP is the client to use; nil means http.DefaultClient. It must
	// have no Timeout for Events: bound calls with their context instead.
	HTTP *http.Client
}

// ResponseError is a non-2xx answer from the lab. Its message is the text
// the lab sent (api.Error), meant to be shown to the learner as is.
type ResponseError struct {
	StatusCode int
	Message    string
}

func (e *ResponseError) Error() string { return e.Message }

// ErrStreamEnded is returned by Events when the lab ends the stream: it is
// stopping, or the client fell too far behind. Connecting again resumes
// from the current status.
var ErrStreamEnded = errors.New("the lab ended the event stream")

const (
	maxResponse = 8 << 20  // bytes of a JSON answer
	maxSSELine  = 16 << 20 // bytes of one event-stream line or message
)

// Status returns the lab's status (GET /api/status).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/api/status", &st)
	return st, err
}

// Hint asks for the task's next hint (POST /api/hint). For an unknown
// task the error is a *ResponseError with status 404 and the lab's text.
func (c *Client) Hint(ctx context.Context, task string) (Hint, error) {
	var h Hint
	err := c.do(ctx, http.MethodPost, "/api/hint?task="+url.QueryEscape(task), &h)
	return h, err
}

// Reset clears the lab's progress and returns the new status
// (POST /api/reset).
func (c *Client) Reset(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodPost, "/api/reset", &st)
	return st, err
}

// Events reads the lab's event stream (GET /api/events) and calls fn with
// each message's type ("status" first, then "event" and "task") and JSON
// data. It returns ctx's error once ctx is done, fn's error if fn fails,
// and ErrStreamEnded if the lab ends the stream.
func (c *Client) Events(ctx context.Context, fn func(kind string, data json.RawMessage) error) error {
	req, err := c.request(ctx, http.MethodGet, "/api/events")
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("lab api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return responseError(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return fmt.Errorf("lab api: %s answered %q, not an event stream: is this the lab's console address?",
			req.URL, resp.Header.Get("Content-Type"))
	}
	r := NewSSEReader(resp.Body, maxSSELine)
	for {
		kind, data, err := r.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return ErrStreamEnded
			}
			return fmt.Errorf("lab api: reading events: %w", err)
		}
		if err := fn(kind, data); err != nil {
			return err
		}
	}
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) request(ctx context.Context, method, path string) (*http.Request, error) {
	if c.Base == "" {
		return nil, errors.New("lab api: no address for the lab's console")
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.Base, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("lab api: %w", err)
	}
	return req, nil
}

// do sends a request without a body and decodes a JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := c.request(ctx, method, path)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("lab api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return responseError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(out); err != nil {
		return fmt.Errorf("lab api: %s %s: reading the answer: %w", method, req.URL, err)
	}
	return nil
}

// responseError turns a non-2xx answer into a *ResponseError carrying the
// lab's message, or the HTTP status when the body is not an api.Error
// (another server on that port, a proxy).
func responseError(resp *http.Response) error {
	e := &ResponseError{StatusCode: resp.StatusCode}
	var body Error
	if json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(&body) == nil && body.Error != "" {
		e.Message = body.Error
	} else {
		e.Message = fmt.Sprintf("%s %s: %s", resp.Request.Method, resp.Request.URL, resp.Status)
	}
	return e
}
