// SPDX-License-Identifier: Apache-2.0
/*
 * Writes a crafted pack with the identity of a real one, for the tests of hostile packs:
 *   craftpack MODEL.pack OUT.pack ENTRY_LEN FRAME_RAW COMP_LEN
 * One entry of ENTRY_LEN bytes in one frame of FRAME_RAW raw bytes whose compressed range is
 * COMP_LEN bytes (a hole past the frame proper, so a 1 GiB frame costs no disk). Every checksum
 * holds; only the size rules of FORMAT.md are broken, as the arguments ask.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/cachefs/helpers.h"

int main(int argc, char **argv)
{
	struct pack model;
	int fd, err;

	if (argc != 6) {
		fprintf(stderr,
			"usage: craftpack MODEL.pack OUT.pack ENTRY_LEN FRAME_RAW COMP_LEN\n");
		return 2;
	}
	if (pack_open(&model, argv[1])) {
		fprintf(stderr, "craftpack: %s: %s\n", argv[1], model.reason);
		return 1;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	err = craft_pack(fd, &model.id, (uint32_t)strtoul(argv[3], NULL, 0),
			 strtoull(argv[4], NULL, 0), strtoull(argv[5], NULL, 0));
	pack_close(&model);
	if (close(fd) || err) {
		fprintf(stderr, "craftpack: cannot write %s\n", argv[2]);
		return 1;
	}
	return 0;
}
