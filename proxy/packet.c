/* placeholder: being written */
typedef int packet_placeholder_t;
