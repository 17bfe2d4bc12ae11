/* resources.c - the documents a GET returns: service root, Systems, Managers,
 * VirtualMedia, SessionService. Built fresh on every request from the state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbmc.h"

#define R "/redfish/v1"

static json_t *link(const char *fmt, const char *id)
{
	char path[160];

	snprintf(path, sizeof(path), fmt, id);
	return json_pack("{s:s}", "@odata.id", path);
}

void rbmc_etag(const json_t *doc, char out[40])
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned long long h = 14695981039346656037ULL;

	for (const char *p = text ? text : ""; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	free(text);
	snprintf(out, 40, "\"%016llx\"", h);
}

void rbmc_root(struct rbmc_req *q)
{
	q->status = 200;
	q->doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:{s:s}}}",
			   "@odata.id", R, "@odata.type", "#ServiceRoot.v1_11_0.ServiceRoot", "Id",
			   "RootService", "Name", "provisiond lab Redfish BMC", "RedfishVersion",
			   "1.15.0", "UUID", "0b1e4c2a-6f0d-4a55-9d6e-7ab0c0ffee01", "Systems",
			   "@odata.id", R "/Systems", "Managers", "@odata.id", R "/Managers",
			   "SessionService", "@odata.id", R "/SessionService", "Links", "Sessions",
			   "@odata.id", R "/SessionService/Sessions");
}

struct rbmc_system *rbmc_system_find(struct rbmc *b, const char *id)
{
	for (int i = 0; i < b->nsys; i++)
		if (strcmp(b->sys[i].id, id) == 0)
			return &b->sys[i];
	return NULL;
}

static json_t *collection(struct rbmc *b, const char *path, const char *type, const char *fmt)
{
	json_t *members = json_array();

	for (int i = 0; i < b->nsys; i++)
		json_array_append_new(members, link(fmt, b->sys[i].id));
	return json_pack("{s:s, s:s, s:s, s:I, s:o}", "@odata.id", path, "@odata.type", type,
			 "Name", "Collection", "Members@odata.count", (json_int_t)b->nsys,
			 "Members", members);
}

static json_t *boot_doc(const struct rbmc_system *s)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:[s,s,s,s,s], s:[s,s]}", "BootSourceOverrideEnabled", s->boot_enabled,
	    "BootSourceOverrideTarget", s->boot_target, "BootSourceOverrideMode", s->boot_mode,
	    "BootSourceOverrideTarget@Redfish.AllowableValues", "None", "Pxe", "Hdd", "Cd",
	    "UefiHttp", "BootSourceOverrideMode@Redfish.AllowableValues", "UEFI", "Legacy");
}

/* SerialConsole (ComputerSystem v1_13): Telnet when the BMC relays the system's
 * serial line (console.c), every protocol disabled otherwise. */
static json_t *serial_console_doc(const struct rbmc *b, const struct rbmc_system *s)
{
	json_t *telnet = json_pack("{s:b}", "ServiceEnabled", 0);

	if (b->console_port != 0 && s == &b->sys[0]) {
		json_decref(telnet);
		telnet = json_pack("{s:b, s:i, s:b}", "ServiceEnabled", 1, "Port",
				   (int)b->console_port, "SharedWithManagerCLI", 0);
	}
	return json_pack("{s:i, s:{s:b}, s:{s:b}, s:o}", "MaxConcurrentSessions", 1, "IPMI",
			 "ServiceEnabled", 0, "SSH", "ServiceEnabled", 0, "Telnet", telnet);
}

json_t *rbmc_system_doc(struct rbmc *b, struct rbmc_system *s)
{
	char path[128], target[192];
	json_t *doc;

	snprintf(path, sizeof(path), R "/Systems/%s", s->id);
	snprintf(target, sizeof(target), "%s/Actions/ComputerSystem.Reset", path);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:{s:{s:s, s:[s,s,s,s,"
			"s,s]}}, s:{s:[o]}}",
			"@odata.id", path, "@odata.type", "#ComputerSystem.v1_13_0.ComputerSystem",
			"Id", s->id, "Name", s->id, "SystemType", "Virtual", "PowerState", s->power,
			"Status", "State", "Enabled", "Health", "OK", "Boot", boot_doc(s),
			"Actions", "#ComputerSystem.Reset", "target", target,
			"ResetType@Redfish.AllowableValues", "On", "ForceOff", "GracefulShutdown",
			"ForceRestart", "PowerCycle", "GracefulRestart", "Links", "ManagedBy",
			link(R "/Managers/%s", s->id));
	if (doc != NULL)
		json_object_set_new(doc, "SerialConsole", serial_console_doc(b, s));
	return doc;
}

static json_t *manager_doc(struct rbmc_system *s)
{
	char path[128];

	snprintf(path, sizeof(path), R "/Managers/%s", s->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:{s:[o]}}", "@odata.id", path,
			 "@odata.type", "#Manager.v1_10_0.Manager", "Id", s->id, "Name", "BMC",
			 "ManagerType", "BMC", "VirtualMedia",
			 link(R "/Managers/%s/VirtualMedia", s->id), "Links", "ManagerForServers",
			 link(R "/Systems/%s", s->id));
}

json_t *rbmc_media_doc(struct rbmc_system *s)
{
	char path[160], insert[224], eject[224];
	const char *img = s->media_image[0] ? s->media_image : NULL;
	const char *name = img ? strrchr(img, '/') : NULL;

	snprintf(path, sizeof(path), R "/Managers/%s/VirtualMedia/Cd", s->id);
	snprintf(insert, sizeof(insert), "%s/Actions/VirtualMedia.InsertMedia", path);
	snprintf(eject, sizeof(eject), "%s/Actions/VirtualMedia.EjectMedia", path);
	return json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:s?, s:s?, s:b, s:b, s:s, s:{s:{s:s}, "
			 "s:{s:s}}}",
			 "@odata.id", path, "@odata.type", "#VirtualMedia.v1_3_0.VirtualMedia",
			 "Id", "Cd", "Name", "Virtual CD", "MediaTypes", "CD", "DVD", "Image", img,
			 "ImageName", name ? name + 1 : img, "Inserted", s->media_inserted,
			 "WriteProtected", 1, "ConnectedVia", img ? "URI" : "NotConnected",
			 "Actions", "#VirtualMedia.InsertMedia", "target", insert,
			 "#VirtualMedia.EjectMedia", "target", eject);
}

static json_t *media_collection(struct rbmc_system *s)
{
	char path[160];

	snprintf(path, sizeof(path), R "/Managers/%s/VirtualMedia", s->id);
	return json_pack("{s:s, s:s, s:s, s:i, s:[o]}", "@odata.id", path, "@odata.type",
			 "#VirtualMediaCollection.VirtualMediaCollection", "Name", "Virtual Media",
			 "Members@odata.count", 1, "Members",
			 link(R "/Managers/%s/VirtualMedia/Cd", s->id));
}

static json_t *session_service(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:i, s:{s:s}}", "@odata.id",
			 R "/SessionService", "@odata.type",
			 "#SessionService.v1_1_8.SessionService", "Id", "SessionService", "Name",
			 "Session Service", "ServiceEnabled", 1, "SessionTimeout", 600, "Sessions",
			 "@odata.id", R "/SessionService/Sessions");
}

/* The system with its power state read now; a back end that cannot tell is an error
 * (a lab VM in a fault state must not look "Off"). */
static json_t *system_now(struct rbmc_req *q, struct rbmc_system *s)
{
	char msg[256] = "";

	if (q->b->be->power_get(q->b, s, msg, sizeof(msg)) == 0)
		return rbmc_system_doc(q->b, s);
	rbmc_error(q, 500, "Base.1.8.InternalError", "Cannot read the power state of %s: %s", s->id,
		   msg);
	return NULL;
}

/* seg[0] is "Systems", "Managers" or "SessionService"; seg[1] an id. */
static json_t *lookup(struct rbmc_req *q)
{
	struct rbmc_system *s = q->nseg >= 2 ? rbmc_system_find(q->b, q->seg[1]) : NULL;
	const char *kind = q->nseg >= 1 ? q->seg[0] : "";

	if (q->nseg == 1 && strcmp(kind, "Systems") == 0)
		return collection(q->b, R "/Systems",
				  "#ComputerSystemCollection.ComputerSystemCollection",
				  R "/Systems/%s");
	if (q->nseg == 1 && strcmp(kind, "Managers") == 0)
		return collection(q->b, R "/Managers", "#ManagerCollection.ManagerCollection",
				  R "/Managers/%s");
	if (q->nseg == 1 && strcmp(kind, "SessionService") == 0)
		return session_service();
	if (s == NULL)
		return NULL;
	if (q->nseg == 2 && strcmp(kind, "Systems") == 0)
		return system_now(q, s);
	if (strcmp(kind, "Managers") != 0)
		return NULL;
	if (q->nseg == 2)
		return manager_doc(s);
	if (q->nseg == 3 && strcmp(q->seg[2], "VirtualMedia") == 0)
		return media_collection(s);
	if (q->nseg == 4 && strcmp(q->seg[2], "VirtualMedia") == 0 && strcmp(q->seg[3], "Cd") == 0)
		return rbmc_media_doc(s);
	return NULL;
}

void rbmc_get(struct rbmc_req *q)
{
	json_t *doc = lookup(q);

	if (doc == NULL && q->doc != NULL)
		return; /* lookup answered with an error */
	q->doc = doc;
	if (q->doc == NULL) {
		rbmc_error(q, 404, "Base.1.8.ResourceMissingAtURI",
			   "The requested resource was not found.");
		return;
	}
	q->status = 200;
	rbmc_etag(q->doc, q->etag);
}
