//  Fuzz target: any bytes given to the decoder give a message or a clean
//  error; a decoded message encodes and decodes again to an equal message.
#include "norc_msg.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *why = NULL;
    norc_msg_t *msg = norc_msg_decode (data, size, &why);
    if (!msg) {
        if (!why)
            abort ();
        return 0;
    }
    norc_buf_t *buf = norc_buf_new (NORC_MSG_MAX);
    if (norc_msg_encode (msg, buf) != NORC_OK)
        abort ();
    norc_msg_t *again = norc_msg_decode (norc_buf_data (buf), norc_buf_size (buf), &why);
    if (!again || !norc_msg_equal (msg, again))
        abort ();
    norc_msg_destroy (&again);
    norc_msg_destroy (&msg);
    norc_buf_destroy (&buf);
    return 0;
}
