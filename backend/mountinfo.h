/* /proc/self/mountinfo's text, which escapes blanks and backslashes in
 * paths as \ooo. */
#ifndef BOTTLEFS_MOUNTINFO_H
#define BOTTLEFS_MOUNTINFO_H

/* Undoes the escapes in place. */
void bf_mountinfo_unescape(char *s);

#endif
