/*
 * Live views of a session's screen for its owner and the inspectors its policy names
 * (session.inspect). The RFB protocol is spoken by the viewer's own `mxc view`, running as
 * that user: the daemon only hands it raw frames, takes its input when the policy allows
 * control, and audits when a view starts and stops and when control changes hands.
 *
 * A view belongs to the client connection that started it and ends with it. While a view
 * holds control, every other source of input into the session (the agent's own socket
 * included) is refused with EBUSY.
 */
#ifndef MXC_SESSIOND_VIEW_H
#define MXC_SESSIOND_VIEW_H

#include "server.h"

struct mxc_view;

/* The connection went away: ends its view (audited), giving control back. */
void mxc_view_client_gone(struct mxc_client *c);
/* Who holds control through this view, for messages. */
const char *mxc_view_controller_name(const struct mxc_view *v);

void mxc_view_verb_start(struct mxc_call *call);
void mxc_view_verb_stop(struct mxc_call *call);
void mxc_view_verb_frame(struct mxc_call *call);
void mxc_view_verb_pointer(struct mxc_call *call);
void mxc_view_verb_key(struct mxc_call *call);
void mxc_view_verb_control(struct mxc_call *call);

#endif
