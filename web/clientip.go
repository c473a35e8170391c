package web

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR prefixes (the load
// balancers in front of Phaseboard), as PHASEBOARD_TRUSTED_PROXIES gives it.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

const localsClientIP = "phaseboard.client-ip"

// clientIP finds the address of the client, the key of the per-IP rate limits. Behind trusted
// proxies it is the right-most address of X-Forwarded-For that is not a trusted proxy (the
// left-most is whatever the client wrote); otherwise the connection's own address.
func clientIP(c *fiber.Ctx, trusted []netip.Prefix) string {
	remote, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.IP()
	}
	addr := remote.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(addr) {
		return addr.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = a.Unmap()
		if !isTrusted(addr) {
			break
		}
	}
	return addr.String()
}

// ClientIP is the client's address as the rate limits count it (see clientIP).
func ClientIP(c *fiber.Ctx) string {
	if ip, ok := c.Locals(localsClientIP).(string); ok {
		return ip
	}
	return c.IP()
}
