package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRenderCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "render TARGET",
		Short: "Print the objects a target renders at its source's current revision",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("render: not wired yet")
		},
	}
}
