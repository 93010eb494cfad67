// Package deploy holds the container build and production compose files; its tests check them.
package deploy
