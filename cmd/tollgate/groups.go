package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/client"
)

// defaultURL is where `tollgate serve` listens with no configuration.
const defaultURL = "http://127.0.0.1:8080"

func groupsCmd(e *env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "Manage API groups (workspaces of keys) on a running server",
		Long: "Manage API groups on a running Tollgate server through its management API.\n\n" +
			"Set TOLLGATE_URL (default " + defaultURL + ") and TOLLGATE_ADMIN_TOKEN, or pass --url and --token.",
	}
	f.register(cmd)
	cmd.AddCommand(
		groupsListCmd(e, &f),
		groupsCreateCmd(e, &f),
		groupsGetCmd(e, &f),
		groupsRenameCmd(e, &f),
		groupsUpdateCmd(e, &f),
		groupsSetStatusCmd(e, &f, client.GroupDisabled),
		groupsSetStatusCmd(e, &f, client.GroupActive),
		groupsDeleteCmd(e, &f),
	)
	return cmd
}

// printGroups prints groups as JSON (one object when single) or a table.
func (e *env) printGroups(gs []client.Group, single bool) error {
	if e.jsonOut {
		if single && len(gs) == 1 {
			return e.printJSON(gs[0])
		}
		return e.printJSON(gs)
	}
	rows := make([][]string, 0, len(gs))
	for _, g := range gs {
		rows = append(rows, []string{g.ID, cell(g.Name, 40), string(g.Status), cell(g.Description, 50), when(&g.CreatedAt)})
	}
	return e.printTable([]string{"ID", "NAME", "STATUS", "DESCRIPTION", "CREATED"}, rows)
}

// cell makes s fit one table cell: one line, at most max runes, "-" if empty.
func cell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

func groupsListCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			gs, err := c.ListGroups(cmd.Context())
			if err != nil {
				return explain(err, "", "")
			}
			if !e.jsonOut && len(gs) == 0 {
				fmt.Fprintln(e.stdout, "No groups yet. Create one with `tollgate groups create NAME`.")
				return nil
			}
			return e.printGroups(gs, false)
		},
	}
}

func groupsCreateCmd(e *env, f *apiFlags) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a group",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			g, err := c.CreateGroup(cmd.Context(), args[0], description)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(g)
			}
			fmt.Fprintf(e.stdout, "Created group %q (%s).\nNext, create a key in it:\n\n  tollgate keys create --group %s --name NAME\n",
				g.Name, g.ID, g.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	return cmd
}

func groupsGetCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a group",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			id, err := groupID(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			g, err := c.GetGroup(cmd.Context(), id)
			if err != nil {
				return explain(err, "group "+id, "tollgate groups list")
			}
			return e.printGroups([]client.Group{*g}, true)
		},
	}
}

// updateGroup applies u to group id and reports the result with msg.
func updateGroup(cmd *cobra.Command, e *env, f *apiFlags, id string, u client.GroupUpdate, msg func(*client.Group) string) error {
	c, err := f.client(e)
	if err != nil {
		return err
	}
	if id, err = groupID(cmd.Context(), c, id); err != nil {
		return err
	}
	g, err := c.UpdateGroup(cmd.Context(), id, u)
	if err != nil {
		return explain(err, "group "+id, "tollgate groups list")
	}
	if e.jsonOut {
		return e.printJSON(g)
	}
	fmt.Fprintln(e.stdout, msg(g))
	return nil
}

func groupsRenameCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rename ID NAME",
		Short: "Rename a group",
		Args:  exactArgs("ID", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return updateGroup(cmd, e, f, args[0], client.GroupUpdate{Name: &args[1]}, func(g *client.Group) string {
				return fmt.Sprintf("Renamed group %s to %q.", g.ID, g.Name)
			})
		},
	}
}

func groupsUpdateCmd(e *env, f *apiFlags) *cobra.Command {
	var name, description string
	cmd := &cobra.Command{
		Use:   "update ID [--name NAME] [--description TEXT]",
		Short: "Change a group's name or description",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u client.GroupUpdate
			if cmd.Flags().Changed("name") {
				u.Name = &name
			}
			if cmd.Flags().Changed("description") {
				u.Description = &description
			}
			if u.Name == nil && u.Description == nil {
				return usageError{errors.New("nothing to change: pass --name and/or --description (--description \"\" clears it)")}
			}
			return updateGroup(cmd, e, f, args[0], u, func(g *client.Group) string {
				return fmt.Sprintf("Updated group %q (%s).", g.Name, g.ID)
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "new description")
	return cmd
}

// groupsSetStatusCmd is `disable` or `enable`.
func groupsSetStatusCmd(e *env, f *apiFlags, status client.GroupStatus) *cobra.Command {
	use, short := "enable ID", "Enable a disabled group: its keys work again"
	if status == client.GroupDisabled {
		use, short = "disable ID", "Disable a group: its keys are refused until it is enabled"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return updateGroup(cmd, e, f, args[0], client.GroupUpdate{Status: &status}, func(g *client.Group) string {
				if status == client.GroupDisabled {
					return fmt.Sprintf("Disabled group %q (%s): its keys are refused until `tollgate groups enable %s`.", g.Name, g.ID, g.ID)
				}
				return fmt.Sprintf("Enabled group %q (%s): its keys work again.", g.Name, g.ID)
			})
		},
	}
}

func groupsDeleteCmd(e *env, f *apiFlags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ID --yes",
		Short: "Delete a group and revoke every key in it, for good",
		Long: "Delete a group for good. Every key in it is revoked at once and cannot be restored.\n" +
			"To stop its keys temporarily, use `tollgate groups disable` instead.\n\n" +
			"Without --yes the command only says what it would do.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			id, err := groupID(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if !yes {
				// Check the group exists, and say what deleting would cost.
				g, err := c.GetGroup(cmd.Context(), id)
				if err != nil {
					return explain(err, "group "+id, "tollgate groups list")
				}
				ks, err := c.ListKeys(cmd.Context(), id)
				if err != nil {
					return explain(err, "group "+id, "tollgate groups list")
				}
				live := 0
				for _, k := range ks {
					if k.Status == client.KeyActive || k.Status == client.KeyRotating {
						live++
					}
				}
				return usageError{fmt.Errorf("not deleting group %q (%s) without --yes: deleting it revokes every key in it "+
					"(%d in use now), for good. Run `tollgate groups delete %s --yes` to confirm, "+
					"or `tollgate groups disable %s` to stop its keys for now", g.Name, g.ID, live, g.ID, g.ID)}
			}
			if err := c.DeleteGroup(cmd.Context(), id); err != nil {
				return explain(err, "group "+id, "tollgate groups list")
			}
			if e.jsonOut {
				return e.printJSON(map[string]any{"id": id, "object": "api_group", "deleted": true})
			}
			fmt.Fprintf(e.stdout, "Deleted group %s; its keys are revoked.\n", id)
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm: delete the group and revoke all its keys")
	return cmd
}
