/*
 * Micro-benchmark of display/: raw capture (MIT-SHM and GetImage), PNG encoding and whole
 * screenshots on a 1280x800 Xvfb showing a realistic desktop (text, flat windows, a photo),
 * side by side with scrot when it is installed. Runs as root: it starts its Xvfb in private
 * namespaces (see testx_isolate) and leaves nothing behind.
 *
 *   bench-capture [--runs N] [--size WxH] [--depth 24|16] [--sweep] [--no-scrot]
 *
 * --sweep times every zlib level/strategy/filter combination on the desktop and on its text
 * and photo parts; that is how png.c's settings were chosen.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <zlib.h>

#include "display-private.h"
#include "testx.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double median_ms, p95_ms;
};

static struct stats summarize(uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	return (struct stats){
	    .median_ms = ns[n / 2] / 1e6,
	    .p95_ms = ns[(n * 95 + 99) / 100 - 1] / 1e6,
	};
}

/* The output file of the screenshot runs, removed however the program ends. */
static char out_dir[] = "/tmp/mxc-bench-XXXXXX";
static char out_path[64];

static void remove_output(void)
{
	if (out_path[0])
		unlink(out_path);
	rmdir(out_dir);
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-capture: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static struct stats time_capture(struct mxc_display *d, int runs)
{
	uint64_t *ns = calloc((size_t)runs, sizeof(*ns));
	struct mxc_error err = {0};

	if (!ns)
		die("calloc", -ENOMEM);
	for (int i = 0; i < runs; i++) {
		struct mxc_image img = {0};
		uint64_t t0 = mxc_now_mono_ns();
		int r = mxc_display_capture(d, &img, &err);

		ns[i] = mxc_now_mono_ns() - t0;
		if (r < 0) {
			fprintf(stderr, "bench-capture: %s\n", err.msg);
			exit(1);
		}
		mxc_image_finish(&img);
	}
	struct stats s = summarize(ns, runs);
	free(ns);
	return s;
}

/* This thread's CPU time: the sweep compares settings on a busy machine. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static struct stats time_png(const struct mxc_image *img, const struct mxc_png_settings *set,
			     int runs, uint64_t (*now)(void), size_t *ret_len)
{
	uint64_t *ns = calloc((size_t)runs, sizeof(*ns));
	struct mxc_error err = {0};

	if (!ns)
		die("calloc", -ENOMEM);
	for (int i = 0; i < runs; i++) {
		uint8_t *png = NULL;
		size_t len = 0;
		uint64_t t0 = now();
		int r = mxc_png_encode_with(img, set, &png, &len, &err);

		ns[i] = now() - t0;
		if (r < 0) {
			fprintf(stderr, "bench-capture: %s\n", err.msg);
			exit(1);
		}
		*ret_len = len;
		free(png);
	}
	struct stats s = summarize(ns, runs);
	free(ns);
	return s;
}

/* Capture + encode (+ write the file, as scrot does, when path is set). */
static struct stats time_screenshot(struct mxc_display *d, int runs, const char *path)
{
	uint64_t *ns = calloc((size_t)runs, sizeof(*ns));

	if (!ns)
		die("calloc", -ENOMEM);
	for (int i = 0; i < runs; i++) {
		struct mxc_image img = {0};
		uint8_t *png = NULL;
		size_t len = 0;
		uint64_t t0 = mxc_now_mono_ns();
		int r = mxc_display_capture(d, &img, NULL);

		if (r == 0)
			r = mxc_png_encode(&img, &png, &len, NULL);
		if (r == 0 && path) {
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

			r = fd < 0 ? -errno : mxc_write_all(fd, png, len);
			if (fd >= 0)
				close(fd);
		}
		ns[i] = mxc_now_mono_ns() - t0;
		if (r < 0)
			die("screenshot", r);
		free(png);
		mxc_image_finish(&img);
	}
	struct stats s = summarize(ns, runs);
	free(ns);
	return s;
}

static int run_wait(char *const *argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static bool time_scrot(int runs, const char *path, struct stats *ret)
{
	char *argv[] = {(char *)"/usr/bin/scrot", (char *)"-o", (char *)path, NULL};
	uint64_t *ns;

	if (access(argv[0], X_OK) < 0)
		return false;
	ns = calloc((size_t)runs, sizeof(*ns));
	if (!ns)
		die("calloc", -ENOMEM);
	for (int i = 0; i < runs; i++) {
		uint64_t t0 = mxc_now_mono_ns();
		int r = run_wait(argv);

		ns[i] = mxc_now_mono_ns() - t0;
		if (r < 0)
			die("scrot", r);
	}
	*ret = summarize(ns, runs);
	free(ns);
	return true;
}

static struct mxc_image crop(const struct mxc_image *img, uint32_t x, uint32_t y, uint32_t w,
			     uint32_t h)
{
	struct mxc_image c = {.width = w, .height = h, .stride = w * 3};

	c.data = malloc((size_t)c.stride * h);
	if (!c.data)
		die("malloc", -ENOMEM);
	for (uint32_t j = 0; j < h; j++)
		memcpy(c.data + (size_t)j * c.stride,
		       img->data + (size_t)(y + j) * img->stride + x * 3, c.stride);
	return c;
}

static void sweep(const struct mxc_image *desktop, int runs)
{
	static const struct {
		const char *name;
		int value;
	} strategies[] =
	    {
		{"default", Z_DEFAULT_STRATEGY},
		{"filtered", Z_FILTERED},
		{"rle", Z_RLE},
		{"huffman", Z_HUFFMAN_ONLY},
	    },
	  filters[] = {
	      {"none", SPNG_FILTER_CHOICE_NONE},   {"sub", SPNG_FILTER_CHOICE_SUB},
	      {"up", SPNG_FILTER_CHOICE_UP},	   {"avg", SPNG_FILTER_CHOICE_AVG},
	      {"paeth", SPNG_FILTER_CHOICE_PAETH}, {"all", SPNG_FILTER_CHOICE_ALL},
	  };
	static const int levels[] = {1, 2, 3, 6};
	uint32_t W = desktop->width, H = desktop->height;
	/* The editor window (text on white) and the photo viewer, as drawn by testx. */
	struct mxc_image text = crop(desktop, W * 42 / 100 + 46, H * 12 / 100 + 28,
				     W * 55 / 100 - 52, H * 62 / 100 - 40);
	struct mxc_image photo = crop(desktop, W * 22 / 100 + 8, H * 48 / 100 + 32,
				      W * 42 / 100 - 16, H * 42 / 100 - 40);
	const struct {
		const char *name;
		const struct mxc_image *img;
	} inputs[] = {{"desktop", desktop}, {"text", &text}, {"photo", &photo}};

	printf("\nPNG sweep (median CPU ms / KiB, %d runs each)\n", runs);
	printf("%-5s %-9s %-6s", "level", "strategy", "filter");
	for (size_t k = 0; k < MXC_ARRAY_SIZE(inputs); k++)
		printf(" | %17s", inputs[k].name);
	printf("\n");
	for (size_t l = 0; l < MXC_ARRAY_SIZE(levels); l++)
		for (size_t s = 0; s < MXC_ARRAY_SIZE(strategies); s++)
			for (size_t f = 0; f < MXC_ARRAY_SIZE(filters); f++) {
				struct mxc_png_settings set = {levels[l], strategies[s].value,
							       filters[f].value};

				printf("%-5d %-9s %-6s", levels[l], strategies[s].name,
				       filters[f].name);
				for (size_t k = 0; k < MXC_ARRAY_SIZE(inputs); k++) {
					size_t len = 0;
					struct stats st =
					    time_png(inputs[k].img, &set, runs, cpu_ns, &len);

					printf(" | %7.2f %7.1fK", st.median_ms, len / 1024.0);
				}
				printf("\n");
				fflush(stdout);
			}
	mxc_image_finish(&text);
	mxc_image_finish(&photo);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"runs", required_argument, NULL, 'r'},
	    {"size", required_argument, NULL, 's'},
	    {"depth", required_argument, NULL, 'd'},
	    {"sweep", no_argument, NULL, 'w'},
	    {"no-scrot", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned width = 1280, height = 800, depth = 24;
	int runs = 100, opt, r;
	bool do_sweep = false, scrot = true;
	struct testx_server server;
	struct testx_client client;
	struct mxc_display *shm = NULL, *getimage = NULL;
	struct mxc_error err = {0};
	struct mxc_image img = {0};
	struct stats st_shm, st_get, st_png, st_png_cpu, st_shot, st_shot_file, st_scrot;
	size_t png_len = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			break;
		case 's':
			if (sscanf(optarg, "%ux%u", &width, &height) != 2)
				die("--size WxH", -EINVAL);
			break;
		case 'd':
			depth = (unsigned)atoi(optarg);
			break;
		case 'w':
			do_sweep = true;
			break;
		case 'n':
			scrot = false;
			break;
		default:
			printf("usage: %s [--runs N] [--size WxH] [--depth 24|16] [--sweep] "
			       "[--no-scrot]\n",
			       argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (runs < 5)
		die("--runs must be at least 5", -EINVAL);

	r = testx_isolate();
	if (r < 0)
		die("private namespaces (run as root)", r);
	testx_init(&server);
	r = testx_start(&server, 1, width, height, depth);
	if (r < 0)
		die("starting Xvfb", r);
	testx_use(&server);
	r = testx_client_connect(&client, server.display);
	if (r < 0)
		die("connecting the drawing client", r);
	r = testx_draw_desktop(&client);
	if (r < 0)
		die("drawing", r);

	if (mxc_display_connect(NULL, &shm, &err) < 0 ||
	    mxc_display_connect(NULL, &getimage, &err) < 0) {
		fprintf(stderr, "bench-capture: %s\n", err.msg);
		return 1;
	}
	if (!mxc_display_uses_shm(shm))
		fprintf(stderr, "bench-capture: warning: no MIT-SHM\n");
	mxc_display_disable_shm(getimage);
	if (mkdtemp(out_dir) == NULL)
		die("mkdtemp", -errno);
	atexit(remove_output);
	snprintf(out_path, sizeof(out_path), "%s/shot.png", out_dir);

	/* Warm up (page faults of the first capture, lazy server state). */
	for (int i = 0; i < 5; i++) {
		mxc_display_capture(shm, &img, NULL);
		mxc_image_finish(&img);
	}
	st_shm = time_capture(shm, runs);
	st_get = time_capture(getimage, runs);
	if (mxc_display_capture(shm, &img, &err) < 0) {
		fprintf(stderr, "bench-capture: %s\n", err.msg);
		return 1;
	}
	st_png = time_png(&img, &mxc_png_default_settings, runs, mxc_now_mono_ns, &png_len);
	st_png_cpu = time_png(&img, &mxc_png_default_settings, runs, cpu_ns, &png_len);
	st_shot = time_screenshot(shm, runs, NULL);
	st_shot_file = time_screenshot(shm, runs, out_path);
	scrot = scrot && time_scrot(runs, out_path, &st_scrot);

	printf("display %ux%ux%u, %d runs, PNG level %d strategy %d filters %#x\n", width, height,
	       depth, runs, mxc_png_default_settings.level, mxc_png_default_settings.strategy,
	       mxc_png_default_settings.filters);
	printf("%-34s %9s %9s\n", "", "median ms", "p95 ms");
	printf("%-34s %9.2f %9.2f\n", "raw capture, MIT-SHM", st_shm.median_ms, st_shm.p95_ms);
	printf("%-34s %9.2f %9.2f\n", "raw capture, GetImage", st_get.median_ms, st_get.p95_ms);
	printf("%-34s %9.2f %9.2f   (%zu bytes)\n", "PNG encode", st_png.median_ms, st_png.p95_ms,
	       png_len);
	printf("%-34s %9.2f %9.2f\n", "PNG encode, CPU time", st_png_cpu.median_ms,
	       st_png_cpu.p95_ms);
	printf("%-34s %9.2f %9.2f\n", "screenshot (capture + PNG)", st_shot.median_ms,
	       st_shot.p95_ms);
	printf("%-34s %9.2f %9.2f\n", "screenshot + write file", st_shot_file.median_ms,
	       st_shot_file.p95_ms);
	if (scrot) {
		printf("%-34s %9.2f %9.2f\n", "scrot -o FILE", st_scrot.median_ms, st_scrot.p95_ms);
		printf(
		    "scrot / screenshot (median): %.1fx; scrot / screenshot + write file: %.1fx\n",
		    st_scrot.median_ms / st_shot.median_ms,
		    st_scrot.median_ms / st_shot_file.median_ms);
	} else {
		printf("scrot: not installed (apt-get install scrot) or --no-scrot\n");
	}

	if (do_sweep)
		sweep(&img, runs < 20 ? runs : 20);

	mxc_image_finish(&img);
	mxc_display_destroy(shm);
	mxc_display_destroy(getimage);
	testx_client_close(&client);
	testx_stop(&server);
	return 0;
}
