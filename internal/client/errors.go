package client

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// APIError is an error response: the server's
// {"error":{"message","type","code","param"}} body, or, when the body was
// not Tollgate's (a proxy's HTML page, say), a description of what came
// back, with an empty Type.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Type is the error type, such as "permission_error"; empty when the
	// response did not come from Tollgate.
	Type string
	// Message is the server's message, written to be shown to users.
	Message string
	// Param names the request field at fault, when there is one.
	Param string
	// RequestID is the server's X-Request-ID for the request, which its log
	// records; quote it when reporting a 5xx.
	RequestID string
}

// Error returns the server's message.
func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// FromTollgate reports whether the error body was Tollgate's own.
func (e *APIError) FromTollgate() bool { return e.Type != "" }

// responseError turns a response with status >= 300 into an *APIError.
func responseError(resp *http.Response, body []byte) error {
	var eb struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(body, &eb) == nil &&
		eb.Error != nil && eb.Error.Message != "" {
		typ := eb.Error.Type
		if typ == "" {
			typ = "error"
		}
		return &APIError{Status: resp.StatusCode, Type: typ, Message: eb.Error.Message, Param: eb.Error.Param,
			RequestID: resp.Header.Get("X-Request-ID")}
	}
	where := resp.Request.URL.Redacted()
	msg := fmt.Sprintf("HTTP %d %s from %s %s, which is not a Tollgate API response (a proxy, or the wrong address?): %s",
		resp.StatusCode, http.StatusText(resp.StatusCode), resp.Request.Method, where, snippet(body))
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		msg = fmt.Sprintf("HTTP %d from %s %s redirects to %s; use the final address as the Tollgate URL",
			resp.StatusCode, resp.Request.Method, where, loc)
	}
	return &APIError{Status: resp.StatusCode, Message: msg, RequestID: resp.Header.Get("X-Request-ID")}
}
