// Package deploytest checks the deployment files (docker-compose.yml, terraform/, the
// Dockerfiles and mk/deploy.mk) against the code's configuration and the contracts topology.
package deploytest
