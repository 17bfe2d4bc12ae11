/* deploy_vmedia.c - the virtual-media deploy interface: the pxe interface's
 * agent and commands (deploy_pxe.c), with the agent booted from a per-boot ISO
 * the BMC mounts as a virtual CD instead of from the network, so racks without
 * a DHCP/PXE service can be provisioned (docs/bmc.md, "Virtual media").
 *
 * A boot: the engine's grant is opened and taken at once (the ISO must carry
 * the boot token, and there is no script fetch to take it), the ISO is built
 * into [boot] vmedia_dir/MACHINE.iso (pxe_iso_build), and served by the boot
 * listener as /vmedia/SECRET.iso, SECRET being a "media" boot token: unguessable,
 * expiring with the grant, revoked when the media is ejected. The BMC fetches
 * it, the machine boots the CD once, and the agent calls in over the machine's
 * own network. Once the agent holds a session (its kernel and ramdisk are in
 * memory) the media is ejected and the ISO removed; a failure or a missed
 * deadline does the same (release). The ISO file is the marker "media may be
 * inserted": it exists from before the insert until a successful eject. */
#include "provisiond/lifecycle/deploy.h"

#include "images/agent/protocol.h"
#include "provisiond/log.h"
#include "provisiond/tokens.h"
#include "pxe/pxe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long the boot token, the grant and the ISO's URL live when the state
 * has no deadline (as steps.c's grant). */
#define VM_DEFAULT_MS (30LL * 60 * 1000)

/* What the wrapped pxe op sees as its step: the real context, and the error
 * of a boot that failed before the BMC was involved. */
struct vm_boot {
	struct deploy_ctx *c;
	char err[400];
};

static void iso_path(const struct deploy_ctx *c, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.iso", c->lc->vmedia_dir, c->m->id);
}

/* A new secret stored hashed as a boot token of kind; 0 or -1 with why. */
static int new_token(struct deploy_ctx *c, const char *kind, int64_t until, char secret[80],
		     char *why, size_t len)
{
	char hash[65];
	struct inv_err e = {0};
	if (tok_new_secret(secret, 80) != 0) {
		snprintf(why, len, "no randomness for a %s token", kind);
		return -1;
	}
	tok_hash(secret, hash);
	if (inv_boot_token_add(c->lc->inv, hash, c->m->id, kind, until, &e) != INV_OK) {
		snprintf(why, len, "cannot store the %s token: %s", kind, e.message);
		return -1;
	}
	return 0;
}

/* The grant of this boot, taken at once: it ends the previous boot's tokens
 * (security.md) and yields this boot's token. */
static int grant_and_token(struct deploy_ctx *c, int64_t until, char token[80], char *why,
			   size_t len)
{
	struct inv_err e = {0};
	if (inv_boot_grant(c->lc->inv, c->m->id, until, &e) != INV_OK ||
	    inv_boot_grant_take(c->lc->inv, c->m->id, &e) != INV_OK) {
		snprintf(why, len, "cannot open a boot grant: %s", e.message);
		return -1;
	}
	return new_token(c, "boot", until, token, why, len);
}

static int build_iso(struct deploy_ctx *c, const char *token, char *why, size_t len)
{
	char kernel[700], initrd[700], out[700];
	struct err e = {0};
	const struct lc_ctx *x = c->lc;
	if (!x->vmedia_dir || !x->vmedia_dir[0] || !x->ramdisk_dir || !x->boot_url[0]) {
		snprintf(why, len, "no boot plane configured (boot_url, ramdisk_dir, vmedia_dir)");
		return -1;
	}
	if (mkdir(x->vmedia_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, len, "cannot create %s: %s", x->vmedia_dir, strerror(errno));
		return -1;
	}
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", x->ramdisk_dir);
	snprintf(initrd, sizeof initrd, "%s/initramfs", x->ramdisk_dir);
	iso_path(c, out, sizeof out);
	struct pxe_iso_params p = {.boot_url = x->boot_url,
				   .machine_id = c->m->id,
				   .token = token,
				   .extra_args =
				       x->kernel_args && x->kernel_args[0] ? x->kernel_args : NULL,
				   .heartbeat_s = AGENT_HEARTBEAT_DEFAULT_S,
				   .kernel = kernel,
				   .initrd = initrd};
	if (pxe_iso_build(&p, out, &e) != ERR_OK) {
		snprintf(why, len, "cannot build the boot ISO: %.300s", e.message);
		return -1;
	}
	return 0;
}

/* deploy_ctx.boot_agent of the wrapped pxe ops: token, ISO, URL, then the
 * BMC (insert, boot once from CD, power) through the engine. */
static bool vm_boot_agent(void *arg)
{
	struct vm_boot *b = arg;
	struct deploy_ctx *c = b->c;
	char token[80], media[80], url[800];
	int64_t now = lc_now(c->lc);
	int64_t until = c->m->deadline_at > now ? c->m->deadline_at : now + VM_DEFAULT_MS;
	int rc = grant_and_token(c, until, token, b->err, sizeof b->err);
	if (rc == 0)
		rc = build_iso(c, token, b->err, sizeof b->err);
	explicit_bzero(token, sizeof token);
	if (rc == 0)
		rc = new_token(c, "media", until, media, b->err, sizeof b->err);
	if (rc != 0)
		return false;
	size_t n = strlen(c->lc->boot_url);
	while (n > 0 && c->lc->boot_url[n - 1] == '/')
		n--;
	snprintf(url, sizeof url, "%.*s/vmedia/%s.iso", (int)n, c->lc->boot_url, media);
	explicit_bzero(media, sizeof media);
	log_event(LOG_INFO, "virtual media: ISO built, inserting", "machine", c->m->id, NULL);
	bool ok = c->boot_media(c->step, url);
	explicit_bzero(url, sizeof url);
	return ok;
}

/* Ejects and forgets the media: the URL dies with its token, the ISO goes.
 * 0, or -1 with why (the file stays, so a later release tries again). */
static int eject(struct deploy_ctx *c, char *why, size_t len)
{
	char path[700];
	struct inv_err e = {0};
	if (!c->eject_media(c->step, why, len))
		return -1;
	lc_note_inv("revoke media token", c->m->id,
		    inv_boot_token_revoke(c->lc->inv, c->m->id, "media", &e), &e);
	iso_path(c, path, sizeof path);
	if (unlink(path) != 0 && errno != ENOENT)
		log_event(LOG_WARN, "virtual media: cannot remove the ISO", "machine", c->m->id,
			  "error", strerror(errno), NULL);
	log_event(LOG_INFO, "virtual media ejected", "machine", c->m->id, NULL);
	return 0;
}

static bool media_held(const struct deploy_ctx *c)
{
	char path[700];
	if (!c->lc->vmedia_dir || !c->lc->vmedia_dir[0])
		return false;
	iso_path(c, path, sizeof path);
	return access(path, F_OK) == 0;
}

/* The agent of this boot holds a session: its kernel and ramdisk are in
 * memory, so the CD can go. -1 with c->err when the eject failed. */
static int eject_when_agent_up(struct deploy_ctx *c)
{
	bool session = false;
	struct inv_err e = {0};
	char why[400];
	if (!media_held(c) ||
	    inv_boot_live(c->lc->inv, c->m->id, "session", &session, &e) != INV_OK || !session)
		return 0;
	if (eject(c, why, sizeof why) == 0)
		return 0;
	snprintf(c->err, sizeof c->err, "eject virtual media: %s", why);
	return -1;
}

/* Runs one pxe op with the virtual-media boot in place of the network one. */
static enum dep_result wrap(struct deploy_ctx *c, enum dep_result (*op)(struct deploy_ctx *),
			    const struct inv_image *img, const struct inv_allocation *al)
{
	struct vm_boot b = {.c = c};
	struct deploy_ctx v = *c;
	if (c->m->phase[0] && eject_when_agent_up(c) != 0)
		return DEP_ERROR;
	v.boot_agent = vm_boot_agent;
	v.step = &b;
	enum dep_result r = op ? op(&v) : deploy_pxe.write_image(&v, img, al);
	/* the pxe op's outputs (deploy.h): a wait's wake_in_ms too, or the
	 * agent boot timeout would never be looked at */
	c->facts_json = v.facts_json;
	c->phase_out = v.phase_out;
	c->wake_in_ms = v.wake_in_ms;
	snprintf(c->err, sizeof c->err, "%s", v.err);
	if (r == DEP_ABORT && b.err[0]) { /* failed before the BMC: not recorded yet */
		snprintf(c->err, sizeof c->err, "%s", b.err);
		return DEP_ERROR;
	}
	if (r == DEP_DONE && eject_when_agent_up(c) != 0)
		return DEP_ERROR;
	return r;
}

static enum dep_result vm_inspect(struct deploy_ctx *c)
{
	return wrap(c, deploy_pxe.inspect, NULL, NULL);
}

static enum dep_result vm_clean(struct deploy_ctx *c)
{
	return wrap(c, deploy_pxe.clean, NULL, NULL);
}

static enum dep_result vm_write(struct deploy_ctx *c, const struct inv_image *img,
				const struct inv_allocation *al)
{
	return wrap(c, NULL, img, al);
}

static enum dep_result vm_booted(struct deploy_ctx *c)
{
	return deploy_pxe.wait_booted(c);
}

static void vm_release(struct deploy_ctx *c)
{
	char why[400];
	if (media_held(c) && eject(c, why, sizeof why) != 0)
		log_event(LOG_WARN, "virtual media: eject failed (tried again at the next release)",
			  "machine", c->m->id, "error", why, NULL);
}

const struct deploy_driver deploy_vmedia = {
    .name = "vmedia",
    .inspect = vm_inspect,
    .clean = vm_clean,
    .write_image = vm_write,
    .wait_booted = vm_booted,
    .release = vm_release,
};
