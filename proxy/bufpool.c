/* placeholder: being written */
typedef int bufpool_placeholder_t;
