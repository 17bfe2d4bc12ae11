/* api_network.c - an allocation's "network": DHCP (the default) or static
 * addresses, one per machine, validated here and put in one canonical text
 * (inet_pton/inet_ntop) before the reservation stores them and checks that
 * no other live allocation holds one (inventory/alloc_network.c). The
 * deploy hands the machine's address to the agent, which writes it into
 * the config drive's network_data.json (images/agent/configdrive.c). */
#include "provisiond/routes.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many nameservers (resolv.conf reads three; a few spare). */
#define NET_MAX_NAMESERVERS 8

static bool valid_net_mode(const char *s)
{
	return strcmp(s, "dhcp") == 0 || strcmp(s, "static") == 0;
}

const struct field network_fields[API_NETWORK_NFIELDS] = {
    {.name = "mode",
     .kind = F_STR,
     .required = true,
     .min = 1,
     .max = 16,
     .check = valid_net_mode,
     .hint = "must be dhcp or static"},
    {.name = "addresses", .kind = F_ARR},
    {.name = "gateway", .kind = F_STR, .min = 1, .max = 64},
    {.name = "nameservers", .kind = F_ARR},
};

struct ip {
	int family;	     /* AF_INET or AF_INET6 */
	unsigned char b[16]; /* network order; 4 bytes for AF_INET */
	int prefix;	     /* -1: none given */
	char text[INET6_ADDRSTRLEN];
};

static int ip_bits(const struct ip *a)
{
	return a->family == AF_INET ? 32 : 128;
}

/* "ADDR" (prefix false) or "ADDR/N" (prefix true) into *out, canonical. */
static bool parse_ip(const char *s, bool prefix, struct ip *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (!s || strlen(s) >= sizeof buf)
		return false;
	snprintf(buf, sizeof buf, "%s", s);
	char *slash = strchr(buf, '/');
	if ((slash != NULL) != prefix)
		return false;
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof *out);
	out->prefix = -1;
	out->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, buf, out->b) != 1 ||
	    !inet_ntop(out->family, out->b, out->text, sizeof out->text))
		return false;
	if (!slash)
		return true;
	const char *p = slash + 1;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || digits > 3 || p[digits] != '\0')
		return false;
	out->prefix = (int)strtol(p, NULL, 10);
	return out->prefix >= 1 && out->prefix <= ip_bits(out);
}

/* Whether bit i (from the most significant) of a is set. */
static bool bit(const struct ip *a, int i)
{
	return (a->b[i / 8] >> (7 - i % 8)) & 1;
}

/* Whether g is in a's subnet (a->prefix). */
static bool same_subnet(const struct ip *a, const struct ip *g)
{
	if (a->family != g->family)
		return false;
	for (int i = 0; i < a->prefix; i++)
		if (bit(a, i) != bit(g, i))
			return false;
	return true;
}

/* "network" or "broadcast" when a's host part is all zeros or all ones
 * (IPv4 with 2+ host bits; IPv6: all zeros, the subnet-router anycast
 * address), else NULL. */
static const char *reserved_host(const struct ip *a)
{
	int bits = ip_bits(a);
	if (bits - a->prefix < 2)
		return NULL;
	bool zeros = true, ones = true;
	for (int i = a->prefix; i < bits; i++) {
		zeros = zeros && !bit(a, i);
		ones = ones && bit(a, i);
	}
	return zeros ? "network" : ones && a->family == AF_INET ? "broadcast" : NULL;
}

struct net_parse {
	struct http_req *r;
	struct ip *addrs;
	int n;
};

/* One address of network.addresses; false with the 400 set. */
static bool check_address(struct net_parse *x, json_t *v, int i)
{
	char field[48];
	snprintf(field, sizeof field, "network.addresses[%d]", i);
	struct ip *a = &x->addrs[i];
	if (!parse_ip(json_string_value(v), true, a)) {
		http_error(x->r, 400, "invalid_value", field,
			   "%s must be an IPv4 or IPv6 address with its prefix length, like "
			   "10.0.0.5/24 or 2001:db8::5/64",
			   field);
		return false;
	}
	const char *why = reserved_host(a);
	if (why) {
		http_error(x->r, 400, "invalid_value", field,
			   "%s: %s/%d is its subnet's %s address", field, a->text, a->prefix, why);
		return false;
	}
	if (i > 0 && a->family != x->addrs[0].family) {
		http_error(x->r, 400, "invalid_value", field,
			   "%s must be %s like network.addresses[0]", field,
			   x->addrs[0].family == AF_INET ? "IPv4" : "IPv6");
		return false;
	}
	for (int j = 0; j < i; j++)
		if (memcmp(a->b, x->addrs[j].b, sizeof a->b) == 0) {
			http_error(x->r, 400, "invalid_value", field,
				   "%s: %s is also network.addresses[%d]", field, a->text, j);
			return false;
		}
	return true;
}

/* network.gateway against every address; false with the 400 set. */
static bool check_gateway(struct net_parse *x, const char *text, struct ip *g)
{
	if (!parse_ip(text, false, g)) {
		http_error(x->r, 400, "invalid_value", "network.gateway",
			   "network.gateway must be an IPv4 or IPv6 address (no prefix length)");
		return false;
	}
	for (int i = 0; i < x->n; i++) {
		const struct ip *a = &x->addrs[i];
		if (!same_subnet(a, g)) {
			http_error(x->r, 400, "invalid_value", "network.gateway",
				   "network.gateway %s is not in the subnet of "
				   "network.addresses[%d] (%s/%d)",
				   g->text, i, a->text, a->prefix);
			return false;
		}
		if (memcmp(a->b, g->b, sizeof a->b) == 0) {
			char field[48];
			snprintf(field, sizeof field, "network.addresses[%d]", i);
			http_error(x->r, 400, "invalid_value", field, "%s: %s is the gateway",
				   field, a->text);
			return false;
		}
	}
	return true;
}

/* network.nameservers into canonical texts appended to out. */
static bool check_nameservers(struct http_req *r, json_t *list, json_t *out)
{
	if (json_array_size(list) > NET_MAX_NAMESERVERS) {
		http_error(r, 400, "invalid_value", "network.nameservers",
			   "at most %d network.nameservers", NET_MAX_NAMESERVERS);
		return false;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		struct ip ns;
		if (!parse_ip(json_string_value(v), false, &ns)) {
			char field[48];
			snprintf(field, sizeof field, "network.nameservers[%zu]", i);
			http_error(r, 400, "invalid_value", field,
				   "%s must be an IPv4 or IPv6 address", field);
			return false;
		}
		json_array_append_new(out, json_string(ns.text));
	}
	return true;
}

/* mode dhcp takes no other member. */
static bool check_dhcp(struct http_req *r, json_t *o)
{
	for (size_t i = 1; i < API_NETWORK_NFIELDS; i++) {
		json_t *v = json_object_get(o, network_fields[i].name);
		if (v && !json_is_null(v)) {
			char field[48];
			snprintf(field, sizeof field, "network.%s", network_fields[i].name);
			http_error(r, 400, "invalid_value", field, "%s is for mode static only",
				   field);
			return false;
		}
	}
	return true;
}

/* The addresses of a static network: count of them, each valid. */
static bool check_addresses(struct net_parse *x, json_t *list, int count)
{
	if (!list || json_is_null(list)) {
		http_error(x->r, 400, "missing_field", "network.addresses",
			   "network.addresses is required with mode static");
		return false;
	}
	if ((int)json_array_size(list) != count) {
		http_error(x->r, 400, "invalid_value", "network.addresses",
			   "network.addresses must hold one address per machine: count is %d, "
			   "%zu given",
			   count, json_array_size(list));
		return false;
	}
	x->n = count;
	for (int i = 0; i < count; i++)
		if (!check_address(x, json_array_get(list, (size_t)i), i))
			return false;
	return true;
}

void api_network_clear(struct api_network *n)
{
	for (int i = 0; n && i < n->n; i++) {
		free(n->cidrs[i]);
		free(n->ips[i]);
	}
	if (n) {
		free(n->cidrs);
		free(n->ips);
		free(n->json);
		memset(n, 0, sizeof *n);
	}
}

/* The canonical texts of x's addresses into out (n of them). */
static bool fill_texts(const struct net_parse *x, struct api_network *out, json_t *list)
{
	out->cidrs = calloc((size_t)x->n, sizeof *out->cidrs);
	out->ips = calloc((size_t)x->n, sizeof *out->ips);
	if (!out->cidrs || !out->ips)
		return false;
	for (int i = 0; i < x->n; i++) {
		char cidr[INV_ADDRESS_LEN];
		snprintf(cidr, sizeof cidr, "%s/%d", x->addrs[i].text, x->addrs[i].prefix);
		out->cidrs[i] = strdup(cidr);
		out->ips[i] = strdup(x->addrs[i].text);
		out->n = i + 1;
		if (!out->cidrs[i] || !out->ips[i])
			return false;
		json_array_append_new(list, json_string(cidr));
	}
	return true;
}

/* A static network's members checked; out filled. */
static bool parse_static(struct http_req *r, json_t *o, int count, struct api_network *out)
{
	struct net_parse x = {.r = r, .addrs = calloc((size_t)count, sizeof(struct ip))};
	json_t *canon = json_pack("{s:s, s:[], s:n, s:[]}", "mode", "static", "addresses",
				  "gateway", "nameservers");
	bool ok = x.addrs && canon && check_addresses(&x, json_object_get(o, "addresses"), count);
	const char *gw = json_string_value(json_object_get(o, "gateway"));
	struct ip g;
	if (ok && gw && (ok = check_gateway(&x, gw, &g)))
		json_object_set_new(canon, "gateway", json_string(g.text));
	json_t *ns = json_object_get(o, "nameservers");
	if (ok && ns && !json_is_null(ns))
		ok = check_nameservers(r, ns, json_object_get(canon, "nameservers"));
	if (ok && !fill_texts(&x, out, json_object_get(canon, "addresses"))) {
		http_error(r, 500, "internal", NULL, "out of memory");
		ok = false;
	}
	if (ok)
		out->json = json_dumps(canon, JSON_COMPACT);
	json_decref(canon);
	free(x.addrs);
	return ok;
}

bool api_network_parse(struct http_req *r, json_t *body, int count, struct api_network *out)
{
	memset(out, 0, sizeof *out);
	json_t *o = json_object_get(body, "network");
	if (!o || json_is_null(o))
		return true;
	if (!api_check_fields(r, o, "network.", network_fields, API_NETWORK_NFIELDS))
		return false;
	if (strcmp(json_string_value(json_object_get(o, "mode")), "dhcp") == 0)
		return check_dhcp(r, o);
	if (count < 1 || count > INV_MAX_ALLOC)
		return true; /* count's own check answers */
	if (!parse_static(r, o, count, out)) {
		api_network_clear(out);
		return false;
	}
	return true;
}

json_t *api_network_json(const char *network_json)
{
	json_t *o = network_json ? json_loads(network_json, 0, NULL) : NULL;
	return o ? o : json_pack("{s:s}", "mode", "dhcp");
}
