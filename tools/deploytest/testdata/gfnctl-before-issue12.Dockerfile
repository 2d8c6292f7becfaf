# syntax=docker/dockerfile:1
# The operator CLI image; compose's bootstrap runs `gfnctl infra apply` with it. Build from the
# repository root (the module replaces ../../contracts and ../../shared; its main package is
# the module root):
#   docker build -f tools/gfnctl/Dockerfile .

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY contracts/ contracts/
COPY shared/ shared/
COPY tools/gfnctl/ tools/gfnctl/
WORKDIR /src/tools/gfnctl
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gfnctl .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gfnctl /usr/local/bin/gfnctl
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/gfnctl"]
