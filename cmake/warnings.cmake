# Warning set (curl's picky warnings, trimmed) and sanitizer wiring, applied to every target.
add_compile_options(
  -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
  -Wold-style-definition -Wvla -Wimplicit-fallthrough -Wcast-qual -Wundef -Wwrite-strings)
if(LOGSIFT_WERROR)
  add_compile_options(-Werror)
endif()
if(LOGSIFT_SANITIZE)
  add_compile_options(-fsanitize=${LOGSIFT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${LOGSIFT_SANITIZE})
endif()
# POSIX.1-2008 for getline, strdup, clock_gettime, openat... with C17 and extensions off.
add_compile_definitions(_POSIX_C_SOURCE=200809L)
