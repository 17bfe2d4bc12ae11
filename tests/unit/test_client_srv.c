/* Loopback HTTP responder for the client's transport tests: one thread,
 * one connection at a time, canned answers, requests recorded. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_client.h"

const char *srv_reply(char *buf, size_t size, int status, const char *extra_headers,
		      const char *body)
{
	snprintf(buf, size,
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n%s\r\n%s",
		 status, strlen(body), extra_headers, body);
	return buf;
}

static size_t content_length(const char *req)
{
	const char *p = strcasestr(req, "\r\nContent-Length:");

	return p ? strtoul(p + 17, NULL, 10) : 0;
}

/* Reads one request (headers + Content-Length body) into dst. */
static void read_request(int c, char *dst, size_t size)
{
	size_t len = 0;
	char *end = NULL;

	while (len + 1 < size) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = read(c, dst + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		dst[len] = '\0';
		end = strstr(dst, "\r\n\r\n");
		if (end != NULL && len >= (size_t)(end + 4 - dst) + content_length(dst))
			break;
	}
	dst[len] = '\0';
}

/* Holds the connection open without answering until the client leaves. */
static void hang(int c)
{
	char b[256];
	struct pollfd p = {.fd = c, .events = POLLIN};

	while (poll(&p, 1, 5000) > 0 && read(c, b, sizeof(b)) > 0)
		;
}

static void *serve(void *arg)
{
	struct srv *s = arg;

	for (size_t i = 0; i < s->nreplies; i++) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		read_request(c, s->requests[i], SRV_REQ_MAX);
		s->nrequests = i + 1;
		if (s->replies[i] == NULL) {
			hang(c);
		} else {
			size_t off = 0, len = strlen(s->replies[i]);
			while (off < len) {
				ssize_t n = write(c, s->replies[i] + off, len - off);
				if (n <= 0)
					break;
				off += (size_t)n;
			}
			shutdown(c, SHUT_WR);
		}
		close(c);
	}
	return NULL;
}

void srv_start(struct srv *s, const char *const *replies, size_t n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	assert_true(n <= SRV_MAX);
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++)
		s->replies[i] = replies[i];
	s->nreplies = n;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

size_t srv_stop(struct srv *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
	return s->nrequests;
}
