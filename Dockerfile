# Accord in a container: one static binary. PostgreSQL runs beside it
# (docker-compose.yml), so DATABASE_URL is required here.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/accord ./cmd/accord

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /nonexistent --shell /usr/sbin/nologin accord
COPY --from=build /out/accord /usr/local/bin/accord
USER accord
ENV ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["accord"]
CMD ["serve"]
