package main

import "github.com/spf13/cobra"

// groupsCmd is replaced by the management-API client commands.
func groupsCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "groups", Short: "Manage API groups"}
}
