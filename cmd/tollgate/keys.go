package main

import "github.com/spf13/cobra"

// keysCmd is replaced by the management-API client commands.
func keysCmd(e *env) *cobra.Command { return &cobra.Command{Use: "keys", Short: "Manage API keys"} }
