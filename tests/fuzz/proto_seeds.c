//  Write the seed corpus for fuzz_norc_msg: the encoded example of every
//  message, plus a few hostile shapes. usage: norc_proto_seeds DIR
#include "norc_msg.h"
#include "norc_mem.h"
#include "proto_cases.inc"

static void
s_write (const char *dir, const char *name, const void *data, size_t size)
{
    char *path = norc_asprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "wb");
    if (!file) {
        perror (path);
        exit (1);
    }
    fwrite (data, 1, size, file);
    fclose (file);
    free (path);
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: norc_proto_seeds DIR\n");
        return 2;
    }
    size_t n = sizeof (s_proto_case_ids) / sizeof (s_proto_case_ids [0]);
    for (size_t i = 0; i < n; i++) {
        norc_msg_t *msg = norc_msg_new (s_proto_case_ids [i]);
        s_proto_case_fill (msg);
        norc_buf_t *buf = norc_buf_new (NORC_MSG_MAX);
        if (norc_msg_encode (msg, buf) != NORC_OK)
            return 1;
        s_write (argv [1], norc_msg_name (msg), norc_buf_data (buf), norc_buf_size (buf));
        norc_buf_destroy (&buf);
        norc_msg_destroy (&msg);
    }
    s_write (argv [1], "hostile-long-array", "\x82\xa4type\xa5HELLO\xa7running\xdd\xff\xff\xff\xff", 25);
    s_write (argv [1], "hostile-deep", "\x82\xa4type\xa3" "ACK\xa1x\x91\x91\x91\x91\x91\x91\x91\x91\x01", 19);
    s_write (argv [1], "hostile-ext", "\x82\xa4type\xa3" "ACK\xa1x\xc7\x02\x01xy", 16);
    return 0;
}
