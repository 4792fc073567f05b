module github.com/certgate/certgate

go 1.25.7

require (
	github.com/coder/websocket v1.8.15
	github.com/dunglas/httpsfv v1.1.2
	github.com/gorilla/websocket v1.5.3
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.55.0
	nhooyr.io/websocket v1.8.17
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
