/* Xauthority files: the cookie a session's display server and its clients share. */
#include <fcntl.h>
#include <stdio.h>
#include <X11/Xauth.h>

#include "display.h"

int mxc_xauth_write(int fd, unsigned display_number, const uint8_t cookie[16],
		    struct mxc_error *err)
{
	static char name[] = "MIT-MAGIC-COOKIE-1";
	char number[16], address[1] = "", data[16];
	Xauth entry;
	FILE *f;
	int dup_fd, r = 0;

	if (display_number > MXC_DISPLAY_MAX_NUMBER)
		return mxc_error_set(err, -EINVAL,
				     "failed to write Xauthority entry: display number %u",
				     display_number);
	if (!cookie)
		return mxc_error_set(err, -EINVAL, "failed to write Xauthority entry: no cookie");

	snprintf(number, sizeof(number), "%u", display_number);
	memcpy(data, cookie, sizeof(data));
	entry = (Xauth){
	    /* FamilyWild: the same entry works whatever host name a client looks up. */
	    .family = FamilyWild, .address_length = 0,
	    .address = address,	  .number_length = (unsigned short)strlen(number),
	    .number = number,	  .name_length = (unsigned short)strlen(name),
	    .name = name,	  .data_length = sizeof(data),
	    .data = data,
	};

	/* A stdio stream of our own, so that fclose reports write errors and fd stays open. */
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return mxc_error_errno(err, -errno, "failed to write Xauthority entry");
	f = fdopen(dup_fd, "w");
	if (!f) {
		r = -errno;
		close(dup_fd);
		return mxc_error_errno(err, r, "failed to write Xauthority entry");
	}
	errno = 0;
	if (XauWriteAuth(f, &entry) != 1)
		r = errno ? -errno : -EIO;
	if (fclose(f) != 0 && r == 0)
		r = errno ? -errno : -EIO;
	explicit_bzero(data, sizeof(data));
	if (r < 0)
		return mxc_error_errno(err, r, "failed to write Xauthority entry");
	return 0;
}
