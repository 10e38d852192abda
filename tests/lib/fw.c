/* placeholder: being written */
typedef int fw_placeholder_t;
