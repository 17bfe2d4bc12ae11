# Deploy ramdisk and lab image (images/ramdisk, images/build). They download
# Debian's kernel package with apt-get (cached in ~/.cache/provisiond or
# $PROVISIOND_CACHE) and take a while: generous timeouts. They share that
# cache, hence the resource lock.
#   ramdisk_build        build.sh; the cpio holds agent, libs, loader, /init,
#                        busybox and every module
#   ramdisk_lab_image    build-lab-image.sh; partition table, FAT files, .zst, sha256
#   ramdisk_boot_deploy  QEMU (TCG, user networking to a fake boot listener on
#                        127.0.0.1): ramdisk deploys the lab image, the disk
#                        boots and reports booted. Label `qemu` too; skipped
#                        without qemu-system-x86_64.
if(TARGET provisiond-agent)
  set(_rd_dir ${CMAKE_CURRENT_LIST_DIR}/ramdisk)
  get_filename_component(_rd_src ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
  set(_rd_out ${CMAKE_BINARY_DIR}/ramdisk-test)

  add_test(NAME ramdisk_build
    COMMAND ${_rd_dir}/check-ramdisk.sh ${_rd_src} $<TARGET_FILE:provisiond-agent>
            ${_rd_out}/ramdisk)
  add_test(NAME ramdisk_lab_image
    COMMAND ${_rd_dir}/check-lab-image.sh ${_rd_src} $<TARGET_FILE:provisiond-agent>
            ${_rd_out}/lab)
  add_test(NAME ramdisk_boot_deploy
    COMMAND ${_rd_dir}/boot-deploy.sh ${_rd_src} $<TARGET_FILE:provisiond-agent>
            $<TARGET_FILE:test_agent_serve> ${_rd_out}/boot)
  set_tests_properties(ramdisk_build ramdisk_lab_image PROPERTIES
    LABELS integration TIMEOUT 1200 RESOURCE_LOCK provisiond_ramdisk_cache)
  set_tests_properties(ramdisk_boot_deploy PROPERTIES
    LABELS "integration;qemu" TIMEOUT 1800 SKIP_RETURN_CODE 77
    RESOURCE_LOCK provisiond_ramdisk_cache)
endif()
