# Writes the web console's files (provisiond/ui/) into a C file as byte
# arrays, so the daemon serves /ui/ from its own binary (no files to
# install, nothing to get out of step). Run at build time:
#   cmake -DSRC=dir -DOUT=file.c -DFILES=index.html,app.js -P embed.cmake
string(REPLACE "," ";" FILES "${FILES}")
set(body "/* Generated from provisiond/ui/ by embed.cmake: do not edit. */\n")
string(APPEND body "#include \"provisiond/ui_assets.h\"\n\n")
set(table "")
set(i 0)
foreach(f IN LISTS FILES)
  file(READ "${SRC}/${f}" hex HEX)
  string(LENGTH "${hex}" nhex)
  math(EXPR n "${nhex} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
  string(APPEND body "static const unsigned char a${i}[] = {\n${bytes}0};\n")
  string(APPEND table "    {.name = \"${f}\", .data = a${i}, .len = ${n}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "\nconst struct ui_asset ui_assets[] = {\n${table}};\n")
string(APPEND body "const size_t ui_nassets = ${i};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(RENAME "${OUT}.tmp" "${OUT}")
