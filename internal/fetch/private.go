package fetch

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// cgnat is the shared address space of RFC 6598, which netip does not call private.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// isPrivateAddr reports whether a is an address a public web fetcher must not reach.
func isPrivateAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a)
}

// isPrivateHost reports whether host is a literal private address or "localhost".
// Names are checked again, after resolution, by refusePrivate.
func isPrivateHost(host string) bool {
	if host == "localhost" || len(host) > len(".localhost") && host[len(host)-len(".localhost"):] == ".localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && isPrivateAddr(a)
}

// refusePrivate is a net.Dialer Control function that refuses private addresses.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if isPrivateAddr(a) {
		return fmt.Errorf("dial %s: %w", address, ErrPrivateAddress)
	}
	return nil
}
