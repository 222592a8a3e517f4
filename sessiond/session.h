/*
 * Agent sessions: start (namespaces, filesystem, display, helper), stop, exec, screenshot,
 * and recovery of the sessions a previous daemon left behind.
 */
#ifndef MXC_SESSIOND_SESSION_H
#define MXC_SESSIOND_SESSION_H

#include <stdint.h>

struct mxc_server;
struct mxc_call;

void mxc_session_verb_start(struct mxc_call *call);
void mxc_session_verb_stop(struct mxc_call *call);
void mxc_session_verb_list(struct mxc_call *call);
void mxc_session_verb_show(struct mxc_call *call);
void mxc_session_verb_exec(struct mxc_call *call);
void mxc_session_verb_launch(struct mxc_call *call);

/* clip.c */
void mxc_session_verb_clipboard_get(struct mxc_call *call);
void mxc_session_verb_clipboard_set(struct mxc_call *call);

/* computer.c: the computer-use verbs */
void mxc_computer_screenshot(struct mxc_call *call);
void mxc_computer_screen_size(struct mxc_call *call);
void mxc_computer_cursor_position(struct mxc_call *call);
void mxc_computer_wait(struct mxc_call *call);
void mxc_computer_move(struct mxc_call *call);
void mxc_computer_click(struct mxc_call *call);
void mxc_computer_mouse_down(struct mxc_call *call);
void mxc_computer_mouse_up(struct mxc_call *call);
void mxc_computer_drag(struct mxc_call *call);
void mxc_computer_scroll(struct mxc_call *call);
void mxc_computer_key(struct mxc_call *call);
void mxc_computer_key_down(struct mxc_call *call);
void mxc_computer_key_up(struct mxc_call *call);
void mxc_computer_hold_key(struct mxc_call *call);
void mxc_computer_type(struct mxc_call *call);

/* At start-up: adopts the sessions that survived a daemon crash, ends the others. */
void mxc_sessions_recover(struct mxc_server *srv);
/* At shutdown: ends every session and waits for its processes to be gone. */
void mxc_sessions_shutdown(struct mxc_server *srv);
/* Whether a PID namespace (inode) belongs to one of the running sessions. */
bool mxc_session_pidns_is_session(struct mxc_server *srv, uint64_t pidns);
/*
 * Whether a refusal concerning a running session may be written to the audit log now: the
 * first per minute per actor and action is, later ones are counted and reported in the next
 * row written (details gains "refused_since_last_row"). True for sessions that don't exist.
 */
bool mxc_session_refusal_audited(struct mxc_server *srv, const char *session, uint32_t uid,
				 const char *action, struct json_object *details);
/* Number of live sessions of an agent (in memory). */
unsigned mxc_session_count_for_agent(struct mxc_server *srv, const char *agent);

#endif
