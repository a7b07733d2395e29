// The test container of the real node (test/cluster/real-node.test.ts), a static binary with no base image:
//
//	probe serve ADDR   answers every HTTP request with the pod's hostname, logging one line per request
//	probe get URL      prints the status and body of one GET; for https it trusts the pod's ServiceAccount CA
//	                   and sends its token, so a pod can call the `kubernetes` Service
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: probe serve ADDR | probe get URL")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2])
	case "get":
		err = get(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func serve(addr string) error {
	hostname, _ := os.Hostname()
	fmt.Printf("probe serving on %s as %s\n", addr, hostname)
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s from %s\n", r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "hello from %s\n", hostname)
	}))
}

func get(url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if strings.HasPrefix(url, "https://") {
		caPem, err := os.ReadFile(serviceAccountDir + "/ca.crt")
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPem)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		token, err := os.ReadFile(serviceAccountDir + "/token")
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	fmt.Printf("%d\n%s", res.StatusCode, body)
	return nil
}
