package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/client"
)

// apiFlags are the connection settings of the commands that call a running
// server's management API (groups, keys). Flags override the environment.
type apiFlags struct {
	url   string
	token string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.url, "url", "", "Tollgate server address (env TOLLGATE_URL, default "+defaultURL+")")
	fl.StringVar(&f.token, "token", "", "admin token tgadm-… (env TOLLGATE_ADMIN_TOKEN; prefer the env var: flags show in ps)")
}

// client returns a management-API client, or a usage error when no admin
// token is configured.
func (f *apiFlags) client(e *env) (*client.Client, error) {
	url := f.url
	if url == "" {
		url = e.getenv("TOLLGATE_URL")
	}
	if url == "" {
		url = defaultURL
	}
	token := strings.TrimSpace(f.token)
	if token == "" {
		token = strings.TrimSpace(e.getenv("TOLLGATE_ADMIN_TOKEN"))
	}
	if token == "" {
		return nil, usageError{errors.New("no admin token: export TOLLGATE_ADMIN_TOKEN=tgadm-… (the token `tollgate serve` " +
			"printed at first start) or pass --token; `tollgate admin create-token` issues a new one")}
	}
	return client.New(url, token, nil), nil
}

// explain adds what to do next to an error from the management API: the
// token to check on a 401; on a 404 (whose message is a bare "not found")
// what was not found and how to list what exists; on a 5xx the request ID
// the server logged. Other messages already say what is wrong.
func explain(err error, subject, listCmd string) error {
	var ae *client.APIError
	if !errors.As(err, &ae) || !ae.FromTollgate() {
		return err
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w\n(check TOLLGATE_ADMIN_TOKEN or --token; `tollgate admin create-token` issues a new token)", err)
	case http.StatusNotFound:
		if subject != "" {
			return fmt.Errorf("%s: %w (see `%s`)", subject, err, listCmd)
		}
	}
	if ae.Status >= 500 && ae.RequestID != "" {
		return fmt.Errorf("%w (request id %s)", err, ae.RequestID)
	}
	return err
}

// exactArgs requires one argument per name and names the missing ones.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(args) < len(names) {
			return usageError{fmt.Errorf("missing %s; usage: %s", strings.Join(names[len(args):], " and "), cmd.UseLine())}
		}
		return usageError{fmt.Errorf("too many arguments (want %s); usage: %s — quote names that contain spaces",
			strings.Join(names, " "), cmd.UseLine())}
	}
}

// groupID resolves a group reference: an ID (grp_…) as is, or else the name
// of a group, so people can type the names they chose.
func groupID(ctx context.Context, c *client.Client, ref string) (string, error) {
	if strings.HasPrefix(ref, "grp_") {
		return ref, nil
	}
	gs, err := c.ListGroups(ctx)
	if err != nil {
		return "", explain(err, "", "")
	}
	for _, g := range gs {
		if g.Name == ref {
			return g.ID, nil
		}
	}
	return "", fmt.Errorf("no group is named %q (see `tollgate groups list`)", ref)
}
