/*
 * The computer-use benchmark's measuring program; bench/computer-use.sh sets up the daemon
 * and the sessions, and runs it:
 *
 *   bench-computer-use single --socket PATH --session ID:X11_SOCKET:XAUTHORITY:LEADER_PID
 *                             --out DIR [--tools-x11-dir DIR] [--mxc-cli PATH] [--shots N]
 *                             [--clicks N] [--types N] [--tool-types N]
 *       screenshots (mxc, the mxc CLI, scrot, import), clicks (mxc, xdotool) and typing
 *       (mxc, xdotool type with and without --delay 0) on one session;
 *   bench-computer-use load --socket PATH --seconds N --daemon-pid PID
 *                           --session ID:X11_SOCKET:XAUTHORITY:LEADER_PID ...
 *       one client per session, all at once, each looping screenshot + click;
 *   bench-computer-use spawn [--runs N] [--raw] -- PROGRAM ARG...
 *       the wall time of running a program, N times after one not counted: "runs median p99"
 *       in milliseconds, or with --raw each run's nanoseconds (run inside a session too).
 *
 * mxc is driven as an agent runtime would: one persistent connection to mxc-sessiond. The
 * other tools run one process per action, as runtimes run them, against the same session's
 * display: its socket is bind-mounted on /tmp/.X11-unix in a private mount namespace of this
 * process (--tools-x11-dir) and they get DISPLAY=:0 and the session's cookie.
 *
 * Clicks and keys are timed until an X client (recorder.h) has read them; that client runs in
 * this process, so one CLOCK_MONOTONIC serves every stamp.
 */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "procstat.h"
#include "recorder.h"
#include "stats.h"
#include "tool.h"
#include "verbs.h"
#include "xconn.h"

#define SCROT		 "/usr/bin/scrot"
#define IMPORT		 "/usr/bin/import"
#define XDOTOOL		 "/usr/bin/xdotool"
#define EVENT_TIMEOUT_MS 10000
/* The pause before each timed action, like the time an agent takes between steps. */
#define IDLE_MS 50
/* Longer than the helper's remap grace (100 ms): its spare keycodes are given back by then. */
#define KEYMAP_REST_MS 300

/* 50 code points each (the same texts as tests/unit/input/bench-input). */
static const char ascii_text[] = "The quick brown fox jumps over the lazy dog 123 ;)";
static const char mixed_text[] = "Grüße, señor! Привет мир 日本語テキスト 😀👍 ok: éàç ß Ωμ!?";

/* A session as the script describes it: ID:X11_SOCKET:XAUTHORITY[:LEADER_PID]. */
struct target {
	char *id, *x11, *xauth;
	pid_t leader; /* the session's pid 1, or 0 */
};

static void die(const char *what, const struct mxc_error *err)
{
	fprintf(stderr, "bench-computer-use: %s: %s\n", what, err->msg);
	exit(1);
}

static void die_errno(const char *what, int r)
{
	fprintf(stderr, "bench-computer-use: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int parse_target(char *spec, struct target *t)
{
	char *a = strchr(spec, ':'), *b = a ? strchr(a + 1, ':') : NULL;
	char *c = b ? strchr(b + 1, ':') : NULL;
	uint64_t leader = 0;

	if (!a || !b)
		return -EINVAL;
	*a = *b = '\0';
	if (c) {
		*c = '\0';
		if (mxc_parse_u64(c + 1, INT32_MAX, &leader) < 0)
			return -EINVAL;
	}
	*t = (struct target){.id = spec, .x11 = a + 1, .xauth = b + 1, .leader = (pid_t)leader};
	return 0;
}

static int parse_count(const char *s, int min, int max)
{
	uint64_t v;

	if (mxc_parse_u64(s, (uint64_t)max, &v) < 0 || v < (uint64_t)min) {
		fprintf(stderr, "bench-computer-use: '%s' is not a number from %d to %d\n", s, min,
			max);
		exit(2);
	}
	return (int)v;
}

static void add(struct bench_samples *s, uint64_t ns)
{
	if (bench_samples_add(s, ns) < 0)
		die_errno("keeping a sample", -ENOMEM);
}

static size_t code_points(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void draw_desktop(const struct target *t)
{
	struct mxc_error err = {0};
	xcb_connection_t *conn;

	if (bench_x_connect(t->x11, t->xauth, &conn, &err) < 0 ||
	    bench_x_draw_desktop(conn, &err) < 0)
		die(t->id, &err);
	xcb_disconnect(conn);
}

/* A table row: label, runs, median, p99 and a free column. */
static void row(const char *label, struct bench_samples *s, const char *extra)
{
	printf("  %-50s %5zu %10.2f %10.2f  %s\n", label, s->n, bench_samples_median_ms(s),
	       bench_samples_quantile_ms(s, 0.99), extra);
}

static void header(const char *extra)
{
	printf("  %-50s %5s %10s %10s  %s\n", "", "runs", "median ms", "p99 ms", extra);
}

/* "7.3x (target >= 4x: met)", for the ratio of two medians. */
static void verdict(const char *what, double slow, double fast, double target)
{
	double ratio = fast > 0 ? slow / fast : 0;

	if (target > 0)
		printf("  %-50s %9.1fx  (target >= %gx: %s)\n", what, ratio, target,
		       ratio >= target ? "met" : "NOT met");
	else
		printf("  %-50s %9.1fx\n", what, ratio);
}

/* ---- the tools' view of the session's display ---- */

/*
 * From here on this process (and the tools it starts) sees the session's X socket directory
 * as /tmp/.X11-unix, so DISPLAY=:0 is the session's own Xvfb. A private mount namespace:
 * nothing is mounted for anyone else.
 */
static void enter_tools_display(const char *x11_dir, const char *xauth)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_errno("a private mount namespace for the tools", -errno);
	if (mkdir("/tmp/.X11-unix", 01777) < 0 && errno != EEXIST)
		die_errno("/tmp/.X11-unix", -errno);
	if (mount(x11_dir, "/tmp/.X11-unix", NULL, MS_BIND, NULL) < 0)
		die_errno("bind-mounting the session's X socket directory", -errno);
	setenv("DISPLAY", ":0", 1);
	setenv("XAUTHORITY", xauth, 1);
}

static bool installed(const char *path)
{
	return access(path, X_OK) == 0;
}

/* ---- screenshots ---- */

struct shots {
	struct bench_samples mxc, cli, scrot, import, mxc_alone, mxc_small;
	size_t mxc_bytes, cli_bytes, scrot_bytes, import_bytes;
	uint32_t width, height;
};

static void shot_mxc(struct bench_client *c, const int region[4], struct bench_samples *samples,
		     struct shots *s, bool keep)
{
	struct mxc_error err = {0};
	uint64_t t0 = mxc_now_mono_ns();
	uint32_t w, h;
	size_t bytes;

	if (bench_client_screenshot(c, region, &bytes, &w, &h, &err) < 0)
		die("mxc screenshot", &err);
	if (keep)
		add(samples, mxc_now_mono_ns() - t0);
	if (!region) {
		s->mxc_bytes = bytes;
		s->width = w;
		s->height = h;
	}
}

/* Runs a tool that writes path, then reads path back: the PNG's bytes in hand. */
static void shot_tool(char *const *argv, const char *path, struct bench_samples *s,
		      size_t *ret_bytes, bool keep)
{
	uint64_t t0 = mxc_now_mono_ns(), ns;
	ssize_t n;
	int r;

	unlink(path);
	r = bench_tool_run(argv, &ns);
	if (r < 0)
		die_errno(argv[0], r);
	n = bench_read_file(path);
	if (n <= 0)
		die_errno(path, n < 0 ? (int)n : -ENODATA);
	if (keep)
		add(s, mxc_now_mono_ns() - t0);
	*ret_bytes = (size_t)n;
}

static void bench_shots(struct bench_client *c, const struct target *t, const char *mxc_cli,
			const char *out_dir, int rounds)
{
	const char *session = t->id;
	uint64_t cpu0, cpu1, xvfb0, xvfb1;
	char scrot_path[4096], import_path[4096], cli_path[4096], buf[64];
	char *scrot_argv[] = {(char *)SCROT, (char *)"-o", scrot_path, NULL};
	char *import_argv[] = {(char *)IMPORT, (char *)"-window", (char *)"root", import_path,
			       NULL};
	char *cli_argv[] = {
	    (char *)mxc_cli, (char *)"screenshot", (char *)session, (char *)"-o", cli_path, NULL};
	bool scrot = installed(SCROT), import = installed(IMPORT);
	struct shots s = {0};

	snprintf(scrot_path, sizeof(scrot_path), "%s/scrot.png", out_dir);
	snprintf(import_path, sizeof(import_path), "%s/import.png", out_dir);
	snprintf(cli_path, sizeof(cli_path), "%s/mxc-cli.png", out_dir);
	/*
	 * Interleaved, one of each per round, so that the machine's other work weighs on all
	 * of them alike; the first rounds warm caches and are not kept.
	 */
	for (int i = -3; i < rounds; i++) {
		bool keep = i >= 0;

		shot_mxc(c, NULL, &s.mxc, &s, keep);
		if (mxc_cli)
			shot_tool(cli_argv, cli_path, &s.cli, &s.cli_bytes, keep);
		if (scrot)
			shot_tool(scrot_argv, scrot_path, &s.scrot, &s.scrot_bytes, keep);
		if (import)
			shot_tool(import_argv, import_path, &s.import, &s.import_bytes, keep);
	}
	/* For scale: mxc alone, back to back; and the fixed cost of the path (a tiny region). */
	for (int i = -3; i < 0; i++)
		shot_mxc(c, NULL, &s.mxc_alone, &s, false);
	bench_sessions_cpu_ticks(&t->leader, 1, &cpu0, &xvfb0);
	for (int i = 0; i < rounds; i++)
		shot_mxc(c, NULL, &s.mxc_alone, &s, true);
	bench_sessions_cpu_ticks(&t->leader, 1, &cpu1, &xvfb1);
	for (int i = -3; i < rounds; i++)
		shot_mxc(c, (const int[4]){0, 0, 16, 16}, &s.mxc_small, &s, i >= 0);

	printf("\n1. Screenshot, full screen %ux%u PNG, request -> PNG bytes in hand\n", s.width,
	       s.height);
	printf(
	    "   (%d rounds, one of each per round, interleaved; then mxc alone, %d runs of each;\n"
	    "    3 warm-up runs not counted)\n",
	    rounds, rounds);
	header("PNG bytes");
	snprintf(buf, sizeof(buf), "%zu", s.mxc_bytes);
	row("mxc, persistent connection (memfd mapped + read)", &s.mxc, buf);
	if (mxc_cli) {
		snprintf(buf, sizeof(buf), "%zu", s.cli_bytes);
		row("mxc screenshot ID -o FILE (a process per shot)", &s.cli, buf);
	}
	if (scrot) {
		snprintf(buf, sizeof(buf), "%zu", s.scrot_bytes);
		row("scrot -o FILE, then read FILE", &s.scrot, buf);
	} else {
		printf("  scrot: not installed\n");
	}
	if (import) {
		snprintf(buf, sizeof(buf), "%zu", s.import_bytes);
		row("import -window root FILE, then read FILE", &s.import, buf);
	} else {
		printf("  import (ImageMagick): not installed\n");
	}
	snprintf(buf, sizeof(buf), "%zu", s.mxc_bytes);
	row("  for scale: mxc alone, back to back", &s.mxc_alone, buf);
	row("  for scale: mxc, a 16x16 region (fixed cost)", &s.mxc_small, "");
	if (t->leader > 0)
		printf("  %-50s %16.2f ms  (Xvfb %.2f ms)\n",
		       "  session's CPU per screenshot, mxc alone",
		       (double)(cpu1 - cpu0) * 1e3 / (double)sysconf(_SC_CLK_TCK) / rounds,
		       (double)(xvfb1 - xvfb0) * 1e3 / (double)sysconf(_SC_CLK_TCK) / rounds);
	if (scrot)
		verdict("ratio scrot / mxc (medians)", bench_samples_median_ms(&s.scrot),
			bench_samples_median_ms(&s.mxc), 4);
	if (import)
		verdict("ratio import / mxc (medians)", bench_samples_median_ms(&s.import),
			bench_samples_median_ms(&s.mxc), 0);
	if (mxc_cli)
		verdict("ratio mxc CLI / mxc persistent (medians)", bench_samples_median_ms(&s.cli),
			bench_samples_median_ms(&s.mxc), 0);
	bench_samples_finish(&s.mxc);
	bench_samples_finish(&s.cli);
	bench_samples_finish(&s.scrot);
	bench_samples_finish(&s.import);
	bench_samples_finish(&s.mxc_alone);
	bench_samples_finish(&s.mxc_small);
}

/* ---- clicks ---- */

struct clicks {
	struct bench_samples to_event, to_answer;
	size_t ok, misplaced;
};

/* Waits for the press and release of one click; checks where the press landed. */
static uint64_t click_arrived(struct bench_recorder *rec, int x, int y, struct clicks *c, bool keep)
{
	struct bench_event press, release;
	int r = bench_recorder_wait_event(rec, XCB_BUTTON_PRESS, EVENT_TIMEOUT_MS, &press);

	if (r == 0)
		r = bench_recorder_wait_event(rec, XCB_BUTTON_RELEASE, EVENT_TIMEOUT_MS, &release);
	if (r < 0)
		die_errno("waiting for a click to arrive", r);
	if (keep && press.x == x && press.y == y && press.detail == 1)
		c->ok++;
	else if (keep)
		c->misplaced++;
	return press.t_ns;
}

static void click_mxc(struct bench_client *cl, struct bench_recorder *rec, int x, int y,
		      struct clicks *c, bool keep)
{
	struct mxc_error err = {0};
	uint64_t t0, t_answer, t_event;

	bench_recorder_clear(rec);
	t0 = mxc_now_mono_ns();
	if (bench_client_click(cl, x, y, &err) < 0)
		die("mxc click", &err);
	t_answer = mxc_now_mono_ns();
	t_event = click_arrived(rec, x, y, c, keep);
	if (keep) {
		add(&c->to_event, t_event - t0);
		add(&c->to_answer, t_answer - t0);
	}
}

static void click_xdotool(struct bench_recorder *rec, int x, int y, struct clicks *c, bool keep)
{
	char xs[16], ys[16];
	char *argv[] = {(char *)XDOTOOL, (char *)"mousemove", xs,  ys,
			(char *)"click", (char *)"1",	      NULL};
	uint64_t t0, t_event;
	pid_t pid;
	int r;

	snprintf(xs, sizeof(xs), "%d", x);
	snprintf(ys, sizeof(ys), "%d", y);
	bench_recorder_clear(rec);
	t0 = mxc_now_mono_ns();
	r = bench_tool_start(argv, &pid);
	if (r < 0)
		die_errno("starting xdotool", r);
	t_event = click_arrived(rec, x, y, c, keep);
	r = bench_tool_wait(pid);
	if (r < 0)
		die_errno("xdotool mousemove X Y click 1", r);
	if (keep) {
		add(&c->to_event, t_event - t0);
		add(&c->to_answer, mxc_now_mono_ns() - t0);
	}
}

/* A verb's round trip, for the decomposition of a click's time. */
static void round_trip(struct bench_client *cl, const char *verb, bool session,
		       struct bench_samples *s, bool keep)
{
	struct mxc_error err = {0};
	uint64_t t0 = mxc_now_mono_ns();

	if (bench_client_call(cl, verb, session, &err) < 0)
		die(verb, &err);
	if (keep)
		add(s, mxc_now_mono_ns() - t0);
}

static void move_round_trip(struct bench_client *cl, int x, int y, struct bench_samples *s,
			    bool keep)
{
	struct mxc_error err = {0};
	uint64_t t0 = mxc_now_mono_ns();

	if (bench_client_move(cl, x, y, &err) < 0)
		die("move", &err);
	if (keep)
		add(s, mxc_now_mono_ns() - t0);
}

static void bench_clicks(struct bench_client *cl, struct bench_recorder *rec, int runs)
{
	bool xdotool = installed(XDOTOOL);
	struct clicks m = {0}, x = {0}, b = {0}, a = {0};
	struct bench_samples daemon_rt, helper_rt, move_rt;
	char buf[64];

	bench_samples_init(&daemon_rt);
	bench_samples_init(&helper_rt);
	bench_samples_init(&move_rt);

	/*
	 * Each click after the same pause, as between an agent's steps: on this kind of machine
	 * the first request after an idle spell pays for waking every process on its path
	 * (measured: 0.5 ms more through mxc). Interleaved; a different point every time, so
	 * that every click moves the pointer.
	 */
	for (int i = -3; i < runs; i++) {
		int k = i + 3, px = 100 + (k * 37) % 1000, py = 100 + (k * 53) % 600;

		sleep_ms(IDLE_MS);
		click_mxc(cl, rec, px, py, &m, i >= 0);
		if (!xdotool)
			continue;
		sleep_ms(IDLE_MS);
		click_xdotool(rec, px + 5, py + 5, &x, i >= 0);
	}
	/*
	 * The same pause with no other program run in between: what is left of the cost of an
	 * idle spell once xdotool's own process churn (start, X connection, exit) is not there
	 * to evict the caches of the processes on mxc's path.
	 */
	for (int i = -3; i < runs; i++) {
		int k = i + 3, px = 120 + (k * 43) % 1000, py = 120 + (k * 31) % 600;

		sleep_ms(IDLE_MS);
		click_mxc(cl, rec, px, py, &a, i >= 0);
	}
	/* Back to back, and the path's parts for scale. */
	for (int i = -3; i < runs; i++) {
		int k = i + 3, px = 100 + (k * 41) % 1000, py = 100 + (k * 59) % 600;

		click_mxc(cl, rec, px, py, &b, i >= 0);
		round_trip(cl, "version", false, &daemon_rt, i >= 0);
		round_trip(cl, "cursor_position", true, &helper_rt, i >= 0);
		move_round_trip(cl, px + 3, py + 3, &move_rt, i >= 0);
	}
	printf("\n2. Click at x,y: request -> ButtonPress read by an X client on the display\n");
	printf("   (%d runs each, each after %d ms idle, mxc and xdotool interleaved; then mxc\n"
	       "    back to back; 3 warm-up runs not counted)\n",
	       runs, IDLE_MS);
	if (xdotool)
		printf("   (xdotool holds the button 12 ms, then sleeps 100 ms before it exits)\n");
	header("clicks arrived where asked");
	snprintf(buf, sizeof(buf), "%zu/%zu", m.ok, m.ok + m.misplaced);
	row("mxc click, persistent connection, to the event", &m.to_event, buf);
	row("mxc click, to the daemon's answer", &m.to_answer, "");
	if (xdotool) {
		snprintf(buf, sizeof(buf), "%zu/%zu", x.ok, x.ok + x.misplaced);
		row("xdotool mousemove X Y click 1, spawn to the event", &x.to_event, buf);
		row("xdotool mousemove X Y click 1, spawn to exit", &x.to_answer, "");
	} else {
		printf("  xdotool: not installed\n");
	}
	snprintf(buf, sizeof(buf), "%zu/%zu", a.ok, a.ok + a.misplaced);
	row("mxc click after idle, no other tool run between", &a.to_event, buf);
	snprintf(buf, sizeof(buf), "%zu/%zu", b.ok, b.ok + b.misplaced);
	row("mxc click back to back, to the event", &b.to_event, buf);
	row("mxc click back to back, to the daemon's answer", &b.to_answer, "");
	row("  for scale: a daemon round trip (version)", &daemon_rt, "");
	row("  for scale: daemon + helper (cursor_position)", &helper_rt, "");
	row("  for scale: move x,y (daemon + helper + motion)", &move_rt, "");
	if (xdotool) {
		verdict("ratio xdotool / mxc (medians, to the event)",
			bench_samples_median_ms(&x.to_event), bench_samples_median_ms(&m.to_event),
			50);
		verdict("ratio xdotool / mxc alone after idle (to the event)",
			bench_samples_median_ms(&x.to_event), bench_samples_median_ms(&a.to_event),
			0);
		verdict("ratio xdotool / mxc back to back (to the event)",
			bench_samples_median_ms(&x.to_event), bench_samples_median_ms(&b.to_event),
			0);
		verdict("ratio xdotool exit / mxc answer (caller goes on)",
			bench_samples_median_ms(&x.to_answer),
			bench_samples_median_ms(&m.to_answer), 0);
	}
	bench_samples_finish(&daemon_rt);
	bench_samples_finish(&helper_rt);
	bench_samples_finish(&move_rt);
	struct clicks *all[] = {&m, &x, &b, &a};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(all); i++) {
		bench_samples_finish(&all[i]->to_event);
		bench_samples_finish(&all[i]->to_answer);
	}
}

/* ---- typing ---- */

struct typing {
	const char *label;
	struct bench_samples to_last, to_done;
	size_t correct, runs;
	char *sample; /* what arrived in the first wrong run */
};

/* After the action: every event read, then what arrived and when its last character did. */
static void typed(struct bench_recorder *rec, const char *want, uint64_t t0, uint64_t t_done,
		  struct typing *t, bool keep)
{
	uint64_t last = 0;
	char *got;
	int r = bench_recorder_settle(rec);

	if (r < 0)
		die_errno("waiting for the typed text", r);
	got = bench_recorder_text(rec, &last);
	if (!got)
		die_errno("reading the typed text", -ENOMEM);
	if (!keep) {
		free(got);
		return;
	}
	t->runs++;
	if (strcmp(got, want) == 0)
		t->correct++;
	else if (!t->sample)
		t->sample = strdup(got);
	free(got);
	/* Nothing typed at all: the run still counts, until it was done. */
	add(&t->to_last, (last ? last : t_done) - t0);
	add(&t->to_done, t_done - t0);
}

static void type_mxc(struct bench_client *cl, struct bench_recorder *rec, const char *text,
		     struct typing *t, bool keep)
{
	struct mxc_error err = {0};
	uint64_t t0;
	int r = bench_recorder_settle(rec);

	if (r < 0)
		die_errno("settling the recorder", r);
	bench_recorder_clear(rec);
	t0 = mxc_now_mono_ns();
	if (bench_client_type(cl, text, &err) < 0)
		die("mxc type", &err);
	typed(rec, text, t0, mxc_now_mono_ns(), t, keep);
}

static void type_xdotool(struct bench_recorder *rec, const char *text, bool no_delay,
			 struct typing *t, bool keep)
{
	char *argv[] = {(char *)XDOTOOL, (char *)"type", (char *)"--delay",
			(char *)"0",	 NULL,		 NULL};
	uint64_t t0, ns;
	int r = bench_recorder_settle(rec);

	if (r < 0)
		die_errno("settling the recorder", r);
	if (no_delay) {
		argv[4] = (char *)text;
	} else {
		argv[2] = (char *)text;
		argv[3] = NULL;
	}
	bench_recorder_clear(rec);
	t0 = mxc_now_mono_ns();
	r = bench_tool_run(argv, &ns);
	if (r < 0)
		die_errno("xdotool type", r);
	typed(rec, text, t0, t0 + ns, t, keep);
}

static void typing_row(struct typing *t)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%zu/%zu", t->correct, t->runs);
	row(t->label, &t->to_last, buf);
}

static void typing_finish(struct typing *t)
{
	bench_samples_finish(&t->to_last);
	bench_samples_finish(&t->to_done);
	free(t->sample);
}

static void bench_typing(struct bench_client *cl, struct bench_recorder *rec, int runs,
			 int tool_runs)
{
	const char *texts[] = {ascii_text, mixed_text};
	const char *names[] = {"ASCII", "mixed: accents, Cyrillic, CJK, emoji"};
	bool xdotool = installed(XDOTOOL);

	printf("\n3. Type 50 characters: request (or spawn) -> last character read by an X "
	       "client\n");
	printf("   (mxc %d runs, xdotool %d runs per row; 1 warm-up run not counted; ratios\n"
	       "    against mxc after idle; correct = the client read exactly the text sent)\n",
	       runs, tool_runs);
	for (size_t k = 0; k < MXC_ARRAY_SIZE(texts); k++) {
		struct typing xd = {.label = "xdotool type TEXT (default: 12 ms per key)"},
			      x0 = {.label = "xdotool type --delay 0 TEXT"},
			      cold = {.label = k ? "mxc type, after 300 ms idle (keymap cold)"
						 : "mxc type, after 50 ms idle"},
			      warm = {.label = k ? "mxc type, back to back (keymap warm)"
						 : "mxc type, back to back"};

		/*
		 * xdotool first, then mxc: the helper keeps the characters it added to the
		 * keymap for its grace period, and xdotool must not find them there.
		 */
		for (int i = -1; xdotool && i < tool_runs; i++)
			type_xdotool(rec, texts[k], false, &xd, i >= 0);
		for (int i = -1; xdotool && i < tool_runs; i++)
			type_xdotool(rec, texts[k], true, &x0, i >= 0);
		sleep_ms(KEYMAP_REST_MS);
		for (int i = -1; i < runs; i++) {
			/* Mixed text, cold: the helper has given its spare keycodes back. */
			sleep_ms(k ? KEYMAP_REST_MS : IDLE_MS);
			type_mxc(cl, rec, texts[k], &cold, i >= 0);
		}
		for (int i = -1; i < runs; i++)
			type_mxc(cl, rec, texts[k], &warm, i >= 0);
		sleep_ms(KEYMAP_REST_MS);

		printf("  %s (%zu code points): \"%s\"\n", names[k], code_points(texts[k]),
		       texts[k]);
		header("correct");
		typing_row(&cold);
		typing_row(&warm);
		if (xdotool) {
			typing_row(&xd);
			typing_row(&x0);
			verdict("ratio xdotool (default) / mxc (medians)",
				bench_samples_median_ms(&xd.to_last),
				bench_samples_median_ms(&cold.to_last), 10);
			verdict("ratio xdotool --delay 0 / mxc (medians)",
				bench_samples_median_ms(&x0.to_last),
				bench_samples_median_ms(&cold.to_last), 10);
		} else {
			printf("  xdotool: not installed\n");
		}
		struct typing *all[] = {&cold, &warm, &xd, &x0};
		for (size_t j = 0; j < MXC_ARRAY_SIZE(all); j++)
			if (all[j]->sample)
				printf("    %s, a wrong run:\n      sent:    %s\n      arrived: "
				       "%s\n",
				       all[j]->label, texts[k], all[j]->sample);
		for (size_t j = 0; j < MXC_ARRAY_SIZE(all); j++)
			typing_finish(all[j]);
	}
}

static int cmd_single(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"session", required_argument, NULL, 'S'},
	    {"out", required_argument, NULL, 'o'},
	    {"tools-x11-dir", required_argument, NULL, 'x'},
	    {"mxc-cli", required_argument, NULL, 'c'},
	    {"shots", required_argument, NULL, '1'},
	    {"clicks", required_argument, NULL, '2'},
	    {"types", required_argument, NULL, '3'},
	    {"tool-types", required_argument, NULL, '4'},
	    {NULL, 0, NULL, 0},
	};
	const char *socket_path = NULL, *out_dir = NULL, *tools_dir = NULL, *mxc_cli = NULL;
	int shots = 100, clicks = 200, types = 30, tool_types = 10, opt;
	struct target t = {0};
	struct bench_client cl;
	struct bench_recorder rec;
	struct mxc_error err = {0};
	xcb_connection_t *conn;
	int r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'S':
			if (parse_target(optarg, &t) < 0)
				die_errno("--session ID:X11_SOCKET:XAUTHORITY", -EINVAL);
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'x':
			tools_dir = optarg;
			break;
		case 'c':
			mxc_cli = optarg;
			break;
		case '1':
			shots = parse_count(optarg, 5, 100000);
			break;
		case '2':
			clicks = parse_count(optarg, 5, 100000);
			break;
		case '3':
			types = parse_count(optarg, 3, 100000);
			break;
		case '4':
			tool_types = parse_count(optarg, 3, 100000);
			break;
		default:
			return 2;
		}
	}
	if (!socket_path || !t.id || !out_dir) {
		fprintf(stderr, "bench-computer-use single: --socket, --session and --out are "
				"required\n");
		return 2;
	}
	if (tools_dir)
		enter_tools_display(tools_dir, t.xauth);
	draw_desktop(&t);
	if (bench_client_open(&cl, socket_path, t.id, &err) < 0)
		die("connecting to mxc-sessiond", &err);

	bench_shots(&cl, &t, mxc_cli, out_dir, shots);
	fflush(stdout);

	if (bench_x_connect(t.x11, t.xauth, &conn, &err) < 0)
		die("connecting the recorder", &err);
	r = bench_recorder_start(&rec, conn);
	if (r < 0)
		die_errno("starting the recorder", r);
	bench_clicks(&cl, &rec, clicks);
	fflush(stdout);
	bench_typing(&cl, &rec, types, tool_types);
	bench_recorder_stop(&rec);
	bench_client_close(&cl);
	return 0;
}

/* ---- many sessions at once ---- */

struct load_client {
	pthread_t thread;
	const char *socket_path;
	const struct target *target;
	pthread_barrier_t *start;
	uint64_t deadline_ns;
	unsigned seed;
	struct bench_samples shots, clicks;
	size_t bytes;
	char error[600];
};

/* Runs on one thread per session: screenshot + click until the deadline. */
static void *load_run(void *arg)
{
	struct load_client *lc = arg;
	struct bench_client cl;
	struct mxc_error err = {0};
	uint32_t w = 0, h = 0;
	bool open = bench_client_open(&cl, lc->socket_path, lc->target->id, &err) == 0;

	pthread_barrier_wait(lc->start);
	while (open && mxc_now_mono_ns() < lc->deadline_ns) {
		uint64_t t0 = mxc_now_mono_ns(), t1;

		if (bench_client_screenshot(&cl, NULL, &lc->bytes, &w, &h, &err) < 0)
			break;
		t1 = mxc_now_mono_ns();
		if (bench_client_click(&cl, 10 + (int)(rand_r(&lc->seed) % 1200),
				       10 + (int)(rand_r(&lc->seed) % 700), &err) < 0)
			break;
		if (bench_samples_add(&lc->shots, t1 - t0) < 0 ||
		    bench_samples_add(&lc->clicks, mxc_now_mono_ns() - t1) < 0) {
			mxc_error_set(&err, -ENOMEM, "out of memory");
			break;
		}
	}
	if (err.code)
		snprintf(lc->error, sizeof(lc->error), "%s: %s", lc->target->id, err.msg);
	if (open)
		bench_client_close(&cl);
	return NULL;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"session", required_argument, NULL, 'S'},
	    {"seconds", required_argument, NULL, 't'},
	    {"daemon-pid", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	struct target targets[256];
	pid_t leaders[256];
	struct load_client *clients;
	struct bench_samples shots, clicks;
	const char *socket_path = NULL;
	int n = 0, seconds = 20, opt, failed = 0;
	pid_t daemon = 0;
	pthread_barrier_t start;
	uint64_t t0, t1, d0, d1, s0, s1, x0, x1, c0, c1, b0, b1, m0, m1;
	double wall, tick = (double)sysconf(_SC_CLK_TCK);

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'S':
			if (n == (int)MXC_ARRAY_SIZE(targets) ||
			    parse_target(optarg, &targets[n]) < 0)
				die_errno("--session ID:X11_SOCKET:XAUTHORITY:LEADER_PID", -EINVAL);
			leaders[n] = targets[n].leader;
			n++;
			break;
		case 't':
			seconds = parse_count(optarg, 1, 3600);
			break;
		case 'p':
			daemon = (pid_t)parse_count(optarg, 1, INT32_MAX);
			break;
		default:
			return 2;
		}
	}
	if (!socket_path || n == 0 || daemon == 0) {
		fprintf(stderr, "bench-computer-use load: --socket, --session and --daemon-pid are "
				"required\n");
		return 2;
	}
	for (int i = 0; i < n; i++)
		draw_desktop(&targets[i]);
	clients = calloc((size_t)n, sizeof(*clients));
	if (!clients || pthread_barrier_init(&start, NULL, (unsigned)n + 1) != 0)
		die_errno("setting up the clients", -ENOMEM);
	for (int i = 0; i < n; i++) {
		struct load_client *lc = &clients[i];

		lc->socket_path = socket_path;
		lc->target = &targets[i];
		lc->start = &start;
		lc->seed = 0x9e3779b9u * (unsigned)(i + 1);
		bench_samples_init(&lc->shots);
		bench_samples_init(&lc->clicks);
	}
	/* The deadline is set before the threads start and read only after the barrier. */
	t0 = mxc_now_mono_ns() + 200000000;
	for (int i = 0; i < n; i++) {
		clients[i].deadline_ns = t0 + (uint64_t)seconds * 1000000000;
		if (pthread_create(&clients[i].thread, NULL, load_run, &clients[i]) != 0)
			die_errno("starting a client thread", -EAGAIN);
	}
	pthread_barrier_wait(&start);
	t0 = mxc_now_mono_ns();
	d0 = bench_proc_cpu_ticks(daemon);
	bench_sessions_cpu_ticks(leaders, n, &s0, &x0);
	c0 = bench_self_cpu_ns();
	bench_machine_ticks(&b0, &m0);
	for (int i = 0; i < n; i++)
		pthread_join(clients[i].thread, NULL);
	t1 = mxc_now_mono_ns();
	d1 = bench_proc_cpu_ticks(daemon);
	bench_sessions_cpu_ticks(leaders, n, &s1, &x1);
	c1 = bench_self_cpu_ns();
	bench_machine_ticks(&b1, &m1);
	wall = (double)(t1 - t0) / 1e9;

	bench_samples_init(&shots);
	bench_samples_init(&clicks);
	for (int i = 0; i < n; i++) {
		if (clients[i].error[0]) {
			fprintf(stderr, "bench-computer-use: client of %s\n", clients[i].error);
			failed++;
		}
		if (bench_samples_merge(&shots, &clients[i].shots) < 0 ||
		    bench_samples_merge(&clicks, &clients[i].clicks) < 0)
			die_errno("merging samples", -ENOMEM);
	}
	printf("\n4. %d sessions driven at once: %d clients (one per session, each its own "
	       "connection),\n   each looping screenshot + click for %d s (%.1f s measured)\n",
	       n, n, seconds, wall);
	header("");
	row("screenshot (full screen PNG, bytes in hand)", &shots, "");
	row("click (request -> answer)", &clicks, "");
	printf("  %-50s %10.1f /s  (%.1f per session)\n", "screenshot throughput, all sessions",
	       (double)shots.n / wall, (double)shots.n / wall / n);
	printf("  %-50s %10.1f %%  (of one core)\n", "mxc-sessiond CPU",
	       100.0 * (double)(d1 - d0) / tick / wall);
	printf("  %-50s %10ld KiB (peak %ld KiB)\n", "mxc-sessiond RSS at the end",
	       bench_proc_status_kib(daemon, "VmRSS"), bench_proc_status_kib(daemon, "VmHWM"));
	printf("  %-50s %10.1f %%  (of which Xvfb %.1f %%)\n",
	       "session processes CPU (helpers, Xvfb)", 100.0 * (double)(s1 - s0) / tick / wall,
	       100.0 * (double)(x1 - x0) / tick / wall);
	printf("  %-50s %10.1f %%\n", "the benchmark clients CPU (this process)",
	       100.0 * (double)(c1 - c0) / 1e9 / wall);
	printf("  %-50s %10.1f %%  (%ld CPUs: %ld %%; beyond the above: other work)\n",
	       "the whole machine's CPU, all processes",
	       m1 > m0 ? 100.0 * (double)(b1 - b0) / (double)(m1 - m0) *
			     (double)sysconf(_SC_NPROCESSORS_ONLN)
		       : 0.0,
	       sysconf(_SC_NPROCESSORS_ONLN), 100 * sysconf(_SC_NPROCESSORS_ONLN));
	if (failed)
		printf("  %d of %d clients stopped on an error (see above)\n", failed, n);
	for (int i = 0; i < n; i++) {
		bench_samples_finish(&clients[i].shots);
		bench_samples_finish(&clients[i].clicks);
	}
	bench_samples_finish(&shots);
	bench_samples_finish(&clicks);
	pthread_barrier_destroy(&start);
	free(clients);
	return failed ? 1 : 0;
}

/* ---- a program's wall time, N runs ---- */

static int cmd_spawn(int argc, char **argv)
{
	static const struct option options[] = {
	    {"runs", required_argument, NULL, 'r'},
	    {"raw", no_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	struct bench_samples s;
	int runs = 20, opt;
	bool raw = false;

	while ((opt = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		if (opt == 'r')
			runs = parse_count(optarg, 1, 100000);
		else if (opt == 'w')
			raw = true;
		else
			return 2;
	}
	if (optind >= argc || argv[optind][0] != '/') {
		fprintf(stderr,
			"bench-computer-use spawn: [--runs N] -- /ABSOLUTE/PROGRAM ARG...\n");
		return 2;
	}
	bench_samples_init(&s);
	for (int i = -1; i < runs; i++) {
		uint64_t ns;
		int r = bench_tool_run(&argv[optind], &ns);

		if (r < 0)
			die_errno(argv[optind], r);
		if (i >= 0)
			add(&s, ns);
	}
	for (size_t i = 0; raw && i < s.n; i++)
		printf("%llu\n", (unsigned long long)s.ns[i]);
	if (!raw)
		printf("%zu %.2f %.2f\n", s.n, bench_samples_median_ms(&s),
		       bench_samples_quantile_ms(&s, 0.99));
	bench_samples_finish(&s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
	    {"load", cmd_load},
	    {"single", cmd_single},
	    {"spawn", cmd_spawn},
	};

	if (argc >= 2)
		for (size_t i = 0; i < MXC_ARRAY_SIZE(commands); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr,
		"usage: bench-computer-use single|load|spawn ... (see bench/computer-use.sh)\n");
	return 2;
}
