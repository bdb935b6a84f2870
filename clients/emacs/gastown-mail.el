;;; gastown-mail.el --- The Overseer's inbox  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-mail' lists the inbox of `gastown-actor' (the Overseer),
;; unread messages first.  RET reads a message in its own buffer;
;; there you can reply, ack or archive.  `gastown-mail-compose' writes
;; a new message with address completion.  New mail arrives by push
;; (`$/gastown/mailArrived'); `gastown-mail-mode-line-mode' shows the
;; unread count in the mode line.

;;; Code:

(require 'gastown)
(require 'tabulated-list)

(declare-function gastown-agent-addresses "gastown-transcript" (town))

(defgroup gastown-mail nil
  "Gas Town mail."
  :group 'gastown)

(defcustom gastown-mail-extra-addresses '("overseer" "mayor/" "deacon/")
  "Addresses offered for completion besides the town's agents."
  :type '(repeat string))

(defface gastown-mail-unread '((t :inherit bold))
  "Face of unread messages in the inbox.")

(defvar gastown-mail--unread (make-hash-table :test #'equal)
  "Map a town to its count of unread messages.")

;;;; Message accessors (the server's message shape, tolerantly)

(defun gastown-mail-subject (m)
  "Return the subject of message M."
  (gastown-str (gastown-get m :subject :title)))

(defun gastown-mail-from (m)
  "Return the sender of message M."
  (gastown-str (gastown-get m :from :sender :created_by)))

(defun gastown-mail-body (m)
  "Return the body of message M."
  (gastown-str (gastown-get m :body :description :text)))

(defun gastown-mail-read-p (m)
  "Return non-nil if message M has been read."
  (if (plist-member m :read)
      (gastown-true-p (plist-get m :read))
    (or (equal (plist-get m :status) "closed")
        (member "read" (gastown-seq (plist-get m :labels))))))

(defun gastown-mail--sort (messages)
  "Return MESSAGES with unread ones first, newest first within each group."
  (sort (copy-sequence messages)
        (lambda (a b)
          (let ((ra (gastown-mail-read-p a)) (rb (gastown-mail-read-p b)))
            (if (eq (not ra) (not rb))
                (string> (gastown-str (gastown-get a :created_at :date))
                         (gastown-str (gastown-get b :created_at :date)))
              (not ra))))))

(defun gastown-mail-fetch (town)
  "Return TOWN's inbox messages for `gastown-actor', unread first."
  (let ((msgs (gastown-result-items
               (gastown-request 'mail/inbox (list :address gastown-actor) town)
               :messages :items)))
    (gastown-mail--set-unread town (cl-count-if-not #'gastown-mail-read-p msgs))
    (gastown-mail--sort msgs)))

(defun gastown-mail--set-unread (town n)
  "Record N unread messages in TOWN and update mode lines."
  (unless (eql (gethash town gastown-mail--unread) n)
    (puthash town n gastown-mail--unread)
    (force-mode-line-update t)))

;;;; Mode line

(defun gastown-mail-mode-line ()
  "Return the mode-line text giving unread mail counts."
  (let ((total 0))
    (maphash (lambda (_ n) (cl-incf total n)) gastown-mail--unread)
    (if (> total 0)
        (propertize (format " GT-mail:%d" total) 'face 'warning
                    'help-echo "Unread Gas Town mail: M-x gastown-mail")
      "")))

(defvar gastown-mail--mode-line-entry '(:eval (gastown-mail-mode-line))
  "Entry added to `global-mode-string'.")

;;;###autoload
(define-minor-mode gastown-mail-mode-line-mode
  "Show the count of unread Gas Town mail in the mode line."
  :global t
  :group 'gastown-mail
  (if gastown-mail-mode-line-mode
      (add-to-list 'global-mode-string gastown-mail--mode-line-entry t)
    (setq global-mode-string (delete gastown-mail--mode-line-entry global-mode-string))))

;;;; Inbox

(defvar-local gastown-mail-message-id nil
  "Id of the message the buffer shows.")

(defvar-local gastown-mail-message nil
  "The message (a plist) the buffer shows.")


(defvar gastown-mail-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map tabulated-list-mode-map)
    (define-key map (kbd "RET") #'gastown-mail-read)
    (define-key map (kbd "r") #'gastown-mail-reply)
    (define-key map (kbd "c") #'gastown-mail-compose)
    (define-key map (kbd "m") #'gastown-mail-compose)
    (define-key map (kbd "a") #'gastown-mail-ack)
    (define-key map (kbd "e") #'gastown-mail-archive)
    (define-key map (kbd "g") #'gastown-mail-refresh)
    map)
  "Keymap of `gastown-mail-mode'.")

(define-derived-mode gastown-mail-mode tabulated-list-mode "Gastown-Mail"
  "Major mode listing the Overseer's inbox, unread first.

\\{gastown-mail-mode-map}"
  ;; Fixed-width columns first, Subject last: in a half-width window the
  ;; end of a line is cut, and a cut Id was useless (it was last).
  (setq tabulated-list-format (gastown-mail--format 8)
        tabulated-list-padding 1)
  (setq-local header-line-format nil)
  (tabulated-list-init-header)
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-mail-refresh))))

(defun gastown-mail--format (id-width)
  "Return the inbox's `tabulated-list-format' with an Id column ID-WIDTH wide."
  (vector '("" 1 nil) (list "Id" id-width t) '("From" 22 t) '("Date" 16 t) '("Subject" 40 t)))

(defun gastown-mail--entries (messages)
  "Return `tabulated-list-entries' for MESSAGES."
  (mapcar (lambda (m)
            (let ((face (if (gastown-mail-read-p m) 'default 'gastown-mail-unread)))
              (list (plist-get m :id)
                    (vector (if (gastown-mail-read-p m) " " "*")
                            (gastown-str (plist-get m :id))
                            (propertize (gastown-mail-from m) 'face face)
                            (gastown-time (gastown-get m :created_at :date))
                            (propertize (gastown-mail-subject m) 'face face)))))
          messages))

(defun gastown-mail--show (messages)
  "Show MESSAGES in the current inbox buffer, keeping point."
  (let ((width (apply #'max 6 (mapcar (lambda (m) (length (gastown-str (plist-get m :id)))) messages))))
    (unless (= width (nth 1 (aref tabulated-list-format 1)))
      (setq tabulated-list-format (gastown-mail--format width))
      (tabulated-list-init-header)))
  (setq tabulated-list-entries (gastown-mail--entries messages))
  (tabulated-list-print t))

;;;###autoload
(defun gastown-mail (&optional town)
  "Show the inbox of `gastown-actor' in TOWN, unread first."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "mail" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-mail-mode)
        (gastown-mail-mode)
        (setq gastown-buffer-town town))
      (gastown-mail--show (gastown-mail-fetch town)))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-mail-refresh ()
  "Fetch the inbox again."
  (interactive)
  (gastown-mail--show (gastown-mail-fetch gastown-buffer-town)))

(defun gastown-mail--refresh-async (town)
  "Fetch TOWN's inbox in the background; update inbox buffers and counts."
  (gastown-async
   'mail/inbox (list :address gastown-actor)
   (lambda (result)
     (let ((msgs (gastown-mail--sort (gastown-result-items result :messages :items))))
       (gastown-mail--set-unread town (cl-count-if-not #'gastown-mail-read-p msgs))
       (dolist (buf (gastown-buffers-of 'gastown-mail-mode town))
         (with-current-buffer buf (gastown-mail--show msgs)))))
   :town town :on-error #'ignore))

(defun gastown-mail--on-notification (town method params)
  "Refresh TOWN's inbox when mail arrives (METHOD, PARAMS)."
  (when (or (eq method '$/gastown/mailArrived)
            (and (eq method '$/gastown/event)
                 (let* ((event (or (plist-get params :event) params))
                        (kind (gastown-str (gastown-get event :kind :type)))
                        (payload (plist-get event :payload)))
                   (or (string-match-p "\\`mail" kind)
                       ;; Mail sent inside another change (a landed convoy mails the
                       ;; Overseer) shares its one event, which lists the messages.
                       (and (listp payload) (seq-some #'identity
                                                      (gastown-seq (plist-get payload :mail))))))))
    (let ((to (gastown-get params :to :address :recipient)))
      (when (or (null to) (equal to gastown-actor)
                (gastown-buffers-of 'gastown-mail-mode town))
        (gastown-mail--refresh-async town)))))

(add-hook 'gastown-notification-functions #'gastown-mail--on-notification)

(defun gastown-mail--on-connected (town)
  "Count TOWN's unread mail on connecting, for the mode line or inboxes."
  (when (or gastown-mail-mode-line-mode (gastown-buffers-of 'gastown-mail-mode town))
    (gastown-mail--refresh-async town)))

(add-hook 'gastown-connected-functions #'gastown-mail--on-connected)

(defun gastown-mail--id-at-point ()
  "Return the id of the message at point or shown in this buffer."
  (or (and (derived-mode-p 'gastown-mail-message-mode) gastown-mail-message-id)
      (tabulated-list-get-id)
      (user-error "No message here")))

;;;; Reading

(defvar gastown-mail-message-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map special-mode-map)
    (define-key map (kbd "r") #'gastown-mail-reply)
    (define-key map (kbd "a") #'gastown-mail-ack)
    (define-key map (kbd "e") #'gastown-mail-archive)
    (define-key map (kbd "c") #'gastown-mail-compose)
    map)
  "Keymap of `gastown-mail-message-mode'.")

(define-derived-mode gastown-mail-message-mode special-mode "Gastown-Message"
  "Major mode showing one Gas Town message.

\\{gastown-mail-message-mode-map}")

(defun gastown-mail-read (&optional id town)
  "Read message ID of TOWN (default: at point) in its own buffer."
  (interactive)
  (let* ((town (or town gastown-buffer-town (gastown-current-town)))
         (id (or id (gastown-mail--id-at-point)))
         (res (gastown-request 'mail/read (list :id id) town))
         (m (or (plist-get res :message) res))
         (buf (gastown-buffer "message" town id)))
    (with-current-buffer buf
      (gastown-mail-message-mode)
      (setq gastown-buffer-town town
            gastown-mail-message-id id
            gastown-mail-message m)
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert (propertize "From:    " 'face 'bold) (gastown-mail-from m) "\n"
                (propertize "To:      " 'face 'bold)
                (gastown-str (gastown-get m :to :assignee :recipient)) "\n"
                (propertize "Subject: " 'face 'bold) (gastown-mail-subject m) "\n"
                (propertize "Date:    " 'face 'bold)
                (gastown-time (gastown-get m :created_at :date)) "\n"
                (propertize "Id:      " 'face 'bold) id "\n\n"
                (gastown-mail-body m) "\n")
        (goto-char (point-min))))
    (gastown-mail--refresh-async town)
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-mail-ack (&optional id)
  "Acknowledge message ID (default: at point), marking it handled."
  (interactive)
  (let ((id (or id (gastown-mail--id-at-point)))
        (town gastown-buffer-town))
    (gastown-request 'mail/ack (list :id id) town)
    (message "Gastown: acked %s" id)
    (gastown-mail--refresh-async town)))

(defun gastown-mail-archive (&optional id)
  "Archive message ID (default: at point): close it, taking it out of the inbox."
  (interactive)
  (let ((id (or id (gastown-mail--id-at-point)))
        (town gastown-buffer-town))
    (gastown-request 'bead/close (list :id id :reason "archived") town)
    (message "Gastown: archived %s" id)
    (when (derived-mode-p 'gastown-mail-message-mode)
      (quit-window))
    (gastown-mail--refresh-async town)))

;;;; Composing

(defvar-local gastown-mail--reply-to nil
  "Id of the message the compose buffer replies to, or nil.")

(defvar gastown-mail-compose-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c C-c") #'gastown-mail-send-buffer)
    (define-key map (kbd "C-c C-k") #'gastown-mail-cancel)
    (define-key map (kbd "TAB") #'completion-at-point)
    map)
  "Keymap of `gastown-mail-compose-mode'.")

(defconst gastown-mail--separator "--text follows this line--"
  "Line separating headers from the body in a compose buffer.")

(define-derived-mode gastown-mail-compose-mode text-mode "Gastown-Compose"
  "Major mode for writing a Gas Town message.
Fill in To: (TAB completes addresses) and Subject:, write the body
below the separator and send with \\[gastown-mail-send-buffer].

\\{gastown-mail-compose-mode-map}"
  (add-hook 'completion-at-point-functions #'gastown-mail--complete-address nil t))

(defun gastown-mail-addresses (town)
  "Return addresses mail can be sent to in TOWN."
  (delete-dups (append (condition-case nil (gastown-agent-addresses town)
                         (error nil))
                       gastown-mail-extra-addresses)))

(defun gastown-mail--complete-address ()
  "Complete an address on the To: line."
  (save-excursion
    (let ((pos (point)))
      (beginning-of-line)
      (when (looking-at "To: *")
        (let ((start (save-excursion
                       (goto-char pos)
                       (skip-chars-backward "^ ,:\t")
                       (point))))
          (list start pos (gastown-mail-addresses gastown-buffer-town)))))))

(defun gastown-mail--compose-buffer (town to subject &optional reply-to body)
  "Open a compose buffer in TOWN for TO and SUBJECT, replying to REPLY-TO.
BODY, if non-nil, is inserted as the start of the message."
  (let ((buf (generate-new-buffer "*gastown-compose*")))
    (with-current-buffer buf
      (gastown-mail-compose-mode)
      (setq gastown-buffer-town town
            gastown-mail--reply-to reply-to)
      (insert "To: " (or to "") "\nSubject: " (or subject "") "\n"
              (propertize gastown-mail--separator 'read-only t 'rear-nonsticky t
                          'face 'shadow)
              "\n" (or body ""))
      (goto-char (point-min))
      (cond ((or (null to) (string-empty-p to)) (end-of-line))
            ((or (null subject) (string-empty-p subject)) (forward-line 1) (end-of-line))
            (t (forward-line 3))))
    (pop-to-buffer buf)
    buf))

(defun gastown-mail--header (name)
  "Return the value of header NAME in the compose buffer."
  (save-excursion
    (goto-char (point-min))
    (let ((limit (save-excursion (search-forward gastown-mail--separator nil t))))
      (and (re-search-forward (format "^%s: *\\(.*\\)$" name) limit t)
           (string-trim (match-string-no-properties 1))))))

(defun gastown-mail--body ()
  "Return the body of the compose buffer."
  (save-excursion
    (goto-char (point-min))
    (if (search-forward gastown-mail--separator nil t)
        (string-trim (buffer-substring-no-properties (min (1+ (point)) (point-max))
                                                     (point-max)))
      "")))

(defun gastown-mail-send (to subject body &optional town)
  "Send mail with SUBJECT and BODY to TO (an address) in TOWN."
  (let ((res (gastown-request 'mail/send (list :to to :subject subject :body body)
                              town)))
    (gastown-result "Gastown: sent %s to %s" (or (and (listp res) (gastown-get res :id :message_id))
                                          "mail")
             to)
    res))

(defun gastown-mail-reply-send (id body &optional town subject)
  "Reply to message ID with BODY (and SUBJECT) in TOWN."
  (gastown-request 'mail/reply (append (list :id id :body body)
                                       (and subject (list :subject subject)))
                   town))

(defun gastown-mail-send-buffer ()
  "Send the message in the compose buffer and kill it."
  (interactive)
  (let ((to (gastown-mail--header "To"))
        (subject (gastown-mail--header "Subject"))
        (body (gastown-mail--body))
        (town gastown-buffer-town))
    (when (and (null gastown-mail--reply-to) (or (null to) (string-empty-p to)))
      (user-error "Gastown: say who the message is for on the To: line"))
    (if gastown-mail--reply-to
        (progn (gastown-mail-reply-send gastown-mail--reply-to body town subject)
               (message "Gastown: replied to %s" gastown-mail--reply-to))
      (gastown-mail-send to (or subject "") body town))
    (let ((buf (current-buffer)))
      (quit-window)
      (kill-buffer buf))
    (gastown-mail--refresh-async town)))

(defun gastown-mail-cancel ()
  "Abandon the message being composed."
  (interactive)
  (let ((buf (current-buffer)))
    (quit-window)
    (kill-buffer buf)))

;;;###autoload
(defun gastown-mail-compose (to &optional town)
  "Write a new message to TO (completed from the town's addresses) in TOWN."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town current-prefix-arg))))
                 (list (completing-read "To: " (gastown-mail-addresses town)) town)))
  (gastown-mail--compose-buffer (or town gastown-buffer-town (gastown-current-town))
                                to ""))

(defun gastown-mail-reply (&optional id)
  "Reply to message ID (default: the one at point or shown)."
  (interactive)
  (let* ((town gastown-buffer-town)
         (id (or id (gastown-mail--id-at-point)))
         (m (if (and (derived-mode-p 'gastown-mail-message-mode) gastown-mail-message)
                gastown-mail-message
              (let ((res (gastown-request 'mail/read (list :id id) town)))
                (or (plist-get res :message) res))))
         (subject (gastown-mail-subject m)))
    (gastown-mail--compose-buffer
     town (gastown-mail-from m)
     (if (string-prefix-p "Re: " subject) subject (concat "Re: " subject))
     id
     (concat "\n\n" (replace-regexp-in-string
                     "^" "> " (gastown-mail-body m))))))

(provide 'gastown-mail)

;;; gastown-mail.el ends here
