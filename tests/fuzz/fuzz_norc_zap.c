//  Fuzz target: the ZAP handler's two inputs from outside. Any frames a
//  peer's handshake can put in a ZAP request get a well-formed answer (six
//  frames), and only a CURVE request with the one admitted key is admitted;
//  any text in the registry's cache file is refused cleanly or parsed into
//  a registry whose text parses back to the same text.
#include "norc_zap.h"
#include "norc_principal.h"
#include "norc_mem.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  One known, admitted key (the same for every run)
static const char *s_known = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

static void
s_registry_text (const uint8_t *data, size_t size)
{
    char *text = norc_strndup ((const char *) data, size);
    char err [256];
    norc_registry_t *registry = norc_registry_parse (text, err, sizeof err);
    if (registry) {
        char *again = norc_registry_text (registry);
        norc_registry_t *back = norc_registry_parse (again, err, sizeof err);
        if (!back)
            abort ();
        char *third = norc_registry_text (back);
        if (strcmp (again, third) != 0)
            abort ();
        free (third);
        free (again);
        norc_registry_destroy (&back);
        norc_registry_destroy (&registry);
    }
    free (text);
}

static void
s_zap_request (const uint8_t *data, size_t size)
{
    norc_registry_t *registry = norc_registry_new ();
    norc_principal_t p = { .name = (char *) "known", .kind = NORC_PRINCIPAL_USER, .roles = NORC_ROLE_VIEWER,
                           .state = NORC_PRINCIPAL_ACCEPTED };
    snprintf (p.key, sizeof p.key, "%s", s_known);
    norc_key_fingerprint (p.key, p.fingerprint);
    norc_registry_put (registry, &p);
    //  Frames: a length byte, then that many bytes, until the input ends
    zmsg_t *request = zmsg_new ();
    for (size_t at = 0; at < size; ) {
        size_t len = data [at++];
        len = len < size - at ? len : size - at;
        zmsg_addmem (request, data + at, len);
        at += len;
    }
    bool admitted = false;
    zmsg_t *reply = norc_zap_answer (registry, request, 1, &admitted);
    if (zmsg_size (reply) != 6)
        abort ();
    if (admitted) {
        zframe_t *frame = zmsg_first (request);
        for (int i = 0; i < 5; i++)
            frame = zmsg_next (request);
        zframe_t *key = zmsg_next (request);
        char text [41];
        if (!zframe_streq (frame, "CURVE") || zframe_size (key) != 32)
            abort ();
        zmq_z85_encode (text, zframe_data (key), 32);
        if (strcmp (text, s_known) != 0)
            abort ();
    }
    zmsg_destroy (&reply);
    zmsg_destroy (&request);
    norc_registry_destroy (&registry);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data [0] & 1)
        s_registry_text (data + 1, size - 1);
    else
        s_zap_request (data + 1, size - 1);
    return 0;
}
