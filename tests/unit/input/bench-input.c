/*
 * Input injection benchmark (not a test): median time of a click and of typing 50 characters
 * through mxc_input, against a private Xvfb with a recording client that checks what arrived;
 * and, when /usr/bin/xdotool is installed, the same through `xdotool mousemove X Y click 1` and
 * `xdotool type`, with whether xdotool's text arrived correct.
 *
 *   bench-input [--runs N] [--slow-client MS]     (root: private namespaces, like the tests)
 *
 * --slow-client makes the recording client take MS milliseconds to fetch the keymap after each
 * change notification, like a busy client: that is when remapping races show.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "world.h"

#define XDOTOOL "/usr/bin/xdotool"

/* 50 code points each. */
static const char ascii_text[] = "The quick brown fox jumps over the lazy dog 123 ;)";
static const char mixed_text[] = "Grüße, señor! Привет мир 日本語テキスト 😀👍 ok: éàç ß Ωμ!?";

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), compare_u64);
	return (n % 2 ? (double)v[n / 2] : (double)(v[n / 2 - 1] + v[n / 2]) / 2) / 1e6;
}

static size_t code_points(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Runs argv with output to /dev/null; returns its wall time in ns, or 0 on failure. */
static uint64_t run_timed(char *const *argv)
{
	pid_t parent = getpid(), pid;
	uint64_t t0 = mxc_now_mono_ns();
	int status;

	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 0;
	return mxc_now_mono_ns() - t0;
}

static bool text_arrived(struct world *w, const char *want, char **ret_got)
{
	char *got;
	bool ok;

	if (recorder_settle(&w->rec) < 0)
		return false;
	got = recorder_text(&w->rec);
	ok = got && strcmp(got, want) == 0;
	if (ret_got)
		*ret_got = got;
	else
		free(got);
	return ok;
}

static int bench_mxc(struct world *w, size_t runs)
{
	uint64_t *t = calloc(runs, sizeof(*t));
	struct mxc_error err = {0};
	const char *texts[] = {ascii_text, mixed_text};
	struct rec_event *ev;
	size_t n, presses = 0;

	if (!t)
		return -ENOMEM;
	recorder_clear(&w->rec);
	for (size_t i = 0; i < runs; i++) {
		uint64_t t0 = mxc_now_mono_ns();

		if (mxc_input_click(w->input, 100 + (int32_t)(i % 500), 200, MXC_BUTTON_LEFT, 1,
				    NULL, &err) < 0) {
			fprintf(stderr, "click: %s\n", err.msg);
			free(t);
			return -EIO;
		}
		t[i] = mxc_now_mono_ns() - t0;
	}
	recorder_settle(&w->rec);
	n = recorder_events(&w->rec, &ev);
	for (size_t i = 0; i < n; i++)
		presses += ev[i].type == XCB_BUTTON_PRESS;
	free(ev);
	printf("mxc click (move + press + release + sync):   median %.3f ms  (%zu/%zu clicks "
	       "arrived)\n",
	       median_ms(t, runs), presses, runs);

	for (size_t i = 0; i < runs; i++) {
		uint64_t t0 = mxc_now_mono_ns();

		if (mxc_input_key(w->input, "ctrl+shift+t", &err) < 0) {
			fprintf(stderr, "key: %s\n", err.msg);
			free(t);
			return -EIO;
		}
		t[i] = mxc_now_mono_ns() - t0;
	}
	printf("mxc key ctrl+shift+t:                        median %.3f ms\n", median_ms(t, runs));

	for (size_t k = 0; k < MXC_ARRAY_SIZE(texts); k++) {
		size_t correct = 0;
		uint64_t first = 0;

		char *sample = NULL;

		for (size_t i = 0; i < runs; i++) {
			char *got = NULL;
			uint64_t t0;

			/* What came before must be read before it is forgotten. */
			recorder_settle(&w->rec);
			recorder_clear(&w->rec);
			t0 = mxc_now_mono_ns();
			if (mxc_input_type(w->input, texts[k], strlen(texts[k]), &err) < 0) {
				fprintf(stderr, "type: %s\n", err.msg);
				free(t);
				return -EIO;
			}
			t[i] = mxc_now_mono_ns() - t0;
			if (i == 0)
				first = t[i];
			if (text_arrived(w, texts[k], &got))
				correct++;
			else if (!sample)
				sample = got, got = NULL;
			free(got);
		}
		printf("mxc type %zu chars, %-6s: first %.3f ms, median %.3f ms  (%zu/%zu "
		       "correct)\n",
		       code_points(texts[k]), k ? "mixed" : "ASCII", (double)first / 1e6,
		       median_ms(t, runs), correct, runs);
		if (sample)
			printf("    sent:    %s\n    arrived: %s\n", texts[k], sample);
		free(sample);
	}
	free(t);
	return 0;
}

static void bench_xdotool(struct world *w, size_t runs)
{
	uint64_t *t = calloc(runs, sizeof(*t));
	const char *texts[] = {ascii_text, mixed_text};
	struct rec_event *ev;
	size_t n, presses = 0, ok = 0;

	if (!t)
		return;
	recorder_clear(&w->rec);
	for (size_t i = 0; i < runs; i++) {
		static char tool[] = XDOTOOL, move[] = "mousemove", y[] = "200", click[] = "click",
			    one[] = "1";
		char x[16];
		char *argv[] = {tool, move, x, y, click, one, NULL};

		snprintf(x, sizeof(x), "%d", 100 + (int)(i % 500));
		t[i] = run_timed(argv);
		ok += t[i] != 0;
	}
	recorder_settle(&w->rec);
	n = recorder_events(&w->rec, &ev);
	for (size_t i = 0; i < n; i++)
		presses += ev[i].type == XCB_BUTTON_PRESS;
	free(ev);
	printf("xdotool mousemove X Y click 1:               median %.3f ms  (%zu/%zu clicks "
	       "arrived)\n",
	       median_ms(t, runs), presses, ok);

	for (size_t i = 0; i < runs; i++) {
		static char tool[] = XDOTOOL, key[] = "key", chord[] = "ctrl+shift+t";
		char *argv[] = {tool, key, chord, NULL};

		t[i] = run_timed(argv);
	}
	printf("xdotool key ctrl+shift+t:                    median %.3f ms\n", median_ms(t, runs));

	for (size_t k = 0; k < MXC_ARRAY_SIZE(texts); k++)
		for (int delay = 0; delay < 2; delay++) {
			/* xdotool's default is 12 ms between keys; --delay 0 is its fastest. */
			static char tool[] = XDOTOOL, type[] = "type", opt[] = "--delay",
				    none[] = "0", dflt[] = "12";
			size_t correct = 0, type_runs = runs < 10 ? runs : 10;
			char *text = strdup(texts[k]), *sample = NULL;
			char *argv[] = {tool, type, opt, delay ? dflt : none, text, NULL};

			if (!text)
				break;

			for (size_t i = 0; i < type_runs; i++) {
				char *got = NULL;

				recorder_settle(&w->rec);
				recorder_clear(&w->rec);
				t[i] = run_timed(argv);
				if (text_arrived(w, texts[k], &got))
					correct++;
				else if (!sample)
					sample = got, got = NULL;
				free(got);
			}
			printf(
			    "xdotool type --delay %-2s %zu chars, %-6s: median %.3f ms  (%zu/%zu "
			    "correct)\n",
			    argv[3], code_points(texts[k]), k ? "mixed" : "ASCII",
			    median_ms(t, type_runs), correct, type_runs);
			if (sample)
				printf("    sent:    %s\n    arrived: %s\n", texts[k], sample);
			free(sample);
			free(text);
		}
	free(t);
}

int main(int argc, char **argv)
{
	struct world w;
	size_t runs = 100;
	int slow_ms = 0, r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--slow-client") == 0 && i + 1 < argc) {
			slow_ms = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--runs N] [--slow-client MS]  (as root)\n",
				argv[0]);
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (runs < 1 || runs > 100000)
		runs = 100;
	world_init(&w);
	r = world_start(&w, 1024, 768, slow_ms < 0 ? 0 : slow_ms);
	if (r < 0) {
		fprintf(stderr, "failed to start Xvfb and the recorder: %s\n", strerror(-r));
		world_stop(&w);
		return 1;
	}
	printf("Xvfb 1024x768, layout us, %zu runs each, client fetches the keymap in +%d ms\n",
	       runs, slow_ms);
	r = bench_mxc(&w, runs);
	/* Give the spare keycodes back: xdotool must not find our keysyms on them. */
	for (int due; r == 0 && (due = mxc_input_restore_keymap(w.input, NULL)) != 0;) {
		if (due < 0) {
			r = due;
			break;
		}
		usleep((useconds_t)due * 1000);
	}
	if (r == 0 && access(XDOTOOL, X_OK) == 0)
		bench_xdotool(&w, runs);
	else if (r == 0)
		printf("(%s not installed: no comparison)\n", XDOTOOL);
	world_stop(&w);
	return r == 0 ? 0 : 1;
}
